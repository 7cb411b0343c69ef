import json


def dot(xs, ys):
    total = 0
    for i in range(min(len(xs), len(ys))):
        total += xs[i] * ys[i]
    return total


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": dot(data["xs"], data["ys"])})
