import json


def last_index(xs, target):
    for i in range(len(xs) - 1, -1, -1):
        if xs[i] == target:
            return i
    return -1


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": last_index(data["xs"], data["target"])})
