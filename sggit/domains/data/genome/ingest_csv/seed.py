import csv
import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    table = data["table"]

    def failed(error):
        return json.dumps({"success": False, "rows": 0, "columns": [], "error": error})

    try:
        response = gene_sdk.fetch_url(data["url"])
    except Exception as exc:
        return failed(str(exc))
    if response["status"] != 200:
        return failed(f"{data['url']}: HTTP status {response['status']}")
    records = list(csv.reader(response["text"].splitlines()))
    if not records or not records[0]:
        return failed(f"{data['url']}: no header line")
    header = [name.strip() for name in records[0]]
    rows = []
    for record in records[1:]:
        if not record:
            continue
        values = [value if value != "" else None for value in record]
        values += [None] * (len(header) - len(values))
        rows.append(dict(zip(header, values[: len(header)], strict=False)))
    if table in gene_sdk.list_tables():
        gene_sdk.drop_table(table)
    gene_sdk.create_table(table, [{"name": name, "type": "TEXT"} for name in header])
    gene_sdk.insert_rows(table, rows)
    return json.dumps({"success": True, "rows": len(rows), "columns": header})
