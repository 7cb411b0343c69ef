import json


def min_path(triangle):
    row = list(triangle[-1])
    for level in range(len(triangle) - 2, -1, -1):
        row = [triangle[level][i] + min(row[i], row[i + 1]) for i in range(level + 1)]
    return row[0]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": min_path(data["triangle"])})
