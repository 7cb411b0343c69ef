import json


def max_subarray(xs):
    best = cur = xs[0]
    for x in xs[1:]:
        cur = max(x, cur + x)
        best = max(best, cur)
    return best


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": max_subarray(data["xs"])})
