import json


def rotate(xs, k):
    if not xs:
        return []
    k %= len(xs)
    return xs[k:] + xs[:k]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": rotate(data["xs"], data["k"])})
