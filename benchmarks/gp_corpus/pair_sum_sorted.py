import json


def pair_sum(xs, target):
    lo, hi = 0, len(xs) - 1
    while lo < hi:
        s = xs[lo] + xs[hi]
        if s == target:
            return [lo, hi]
        if s < target:
            lo += 1
        else:
            hi -= 1
    return []


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": pair_sum(data["xs"], data["target"])})
