import json


def lower_bound(xs, target):
    lo, hi = 0, len(xs)
    while lo < hi:
        mid = (lo + hi) // 2
        if xs[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": lower_bound(data["xs"], data["target"])})
