import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    table = data["table"]
    if table not in gene_sdk.list_tables():
        return json.dumps({"healthy": False, "nulls": 0, "null_columns": []})
    have = [column["name"] for column in gene_sdk.table_columns(table)]
    wanted = data["columns"] or have
    if any(name not in have for name in wanted):
        return json.dumps({"healthy": False, "nulls": 0, "null_columns": []})
    counts = {name: gene_sdk.count_nulls(table, name) for name in wanted}
    holding = [name for name in wanted if counts[name]]
    return json.dumps({"healthy": not holding, "nulls": sum(counts.values()), "null_columns": holding})
