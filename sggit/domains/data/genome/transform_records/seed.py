import json

import gene_sdk

CONVERT = {"REAL": float, "INTEGER": int, "TEXT": str}


def convert(value, kind):
    if value is None or value == "":
        return None
    try:
        return CONVERT[kind](value)
    except ValueError:
        return None


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    source, target, mapping, types = data["source"], data["table"], data["mapping"], data["types"] or {}

    def failed(error):
        return json.dumps({"success": False, "rows": 0, "error": error})

    if source not in gene_sdk.list_tables():
        return failed(f"no table {source}")
    have = [column["name"] for column in gene_sdk.table_columns(source)]
    missing = [column for column in mapping.values() if column not in have]
    if missing:
        return failed(f"table {source} has no column {missing[0]} (it has {', '.join(have)})")
    kinds = {name: str(types.get(name, "TEXT")).upper() for name in mapping}
    bad = [kind for kind in kinds.values() if kind not in CONVERT]
    if bad:
        return failed(f"unknown column type {bad[0]}")
    rows = gene_sdk.select_rows(source)
    if target in gene_sdk.list_tables():
        gene_sdk.drop_table(target)
    gene_sdk.create_table(target, [{"name": name, "type": kinds[name]} for name in mapping])
    rows = [{name: convert(row[column], kinds[name]) for name, column in mapping.items()} for row in rows]
    gene_sdk.insert_rows(target, rows)
    return json.dumps({"success": True, "rows": len(rows)})
