import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    if data["table"] not in gene_sdk.list_tables():
        return json.dumps({"healthy": False, "rows": 0, "exists": False})
    rows = gene_sdk.count_rows(data["table"])
    return json.dumps({"healthy": rows >= data["min_rows"], "rows": rows, "exists": True})
