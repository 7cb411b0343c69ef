import json


def search(xs, target, lo, hi):
    if lo > hi:
        return -1
    mid = (lo + hi) // 2
    if xs[mid] == target:
        return mid
    if xs[mid] < target:
        return search(xs, target, mid + 1, hi)
    return search(xs, target, lo, mid - 1)


def find(xs, target):
    return search(xs, target, 0, len(xs) - 1)


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": find(data["xs"], data["target"])})
