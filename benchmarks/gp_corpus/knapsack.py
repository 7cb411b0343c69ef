import json


def knapsack(weights, values, cap):
    best = [0] * (cap + 1)
    for wt, val in zip(weights, values):  # noqa: B905 - the program under repair, as written
        for w in range(cap, wt - 1, -1):
            best[w] = max(best[w], best[w - wt] + val)
    return best[cap]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": knapsack(data["weights"], data["values"], data["cap"])})
