import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    have = [column["name"] for column in gene_sdk.table_columns(data["table"])]
    missing = [name for name in data["columns"] if name not in have]
    if missing:
        raise ValueError(f"table {data['table']} lacks column(s) {', '.join(missing)}; it has {', '.join(have)}")
    return json.dumps({"columns": have, "extra": [name for name in have if name not in data["columns"]]})
