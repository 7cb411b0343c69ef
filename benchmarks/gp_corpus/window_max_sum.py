import json


def window_max_sum(xs, k):
    if k > len(xs) or k <= 0:
        return None
    cur = sum(xs[:k])
    best = cur
    for i in range(k, len(xs)):
        cur += xs[i] - xs[i - k]
        best = max(best, cur)
    return best


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": window_max_sum(data["xs"], data["k"])})
