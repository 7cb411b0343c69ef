import json


def binary_search(xs, target):
    lo, hi = 0, len(xs) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if xs[mid] == target:
            return mid
        if xs[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": binary_search(data["xs"], data["target"])})
