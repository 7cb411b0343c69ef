import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    table, required, defaults = data["table"], data["required"], data["defaults"] or {}

    def failed(error):
        return json.dumps({"success": False, "kept": 0, "dropped": 0, "filled": 0, "error": error})

    if table not in gene_sdk.list_tables():
        return failed(f"no table {table}")
    columns = [column["name"] for column in gene_sdk.table_columns(table)]
    unknown = [name for name in list(required) + list(defaults) if name not in columns]
    if unknown:
        return failed(f"table {table} has no column {unknown[0]}")
    rows = gene_sdk.select_rows(table)
    filled = 0
    kept, seen = [], set()
    for row in rows:
        for name, value in defaults.items():
            if row[name] is None:
                row[name] = value
                filled += 1
        if any(row[name] is None for name in required):
            continue
        key = json.dumps([row[name] for name in columns])
        if key in seen:
            continue
        seen.add(key)
        kept.append(row)
    if len(kept) != len(rows) or filled:
        gene_sdk.delete_rows(table)
        gene_sdk.insert_rows(table, kept)
    return json.dumps({"success": True, "kept": len(kept), "dropped": len(rows) - len(kept), "filled": filled})
