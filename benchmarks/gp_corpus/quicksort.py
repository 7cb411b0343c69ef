import json


def quicksort(xs):
    if len(xs) <= 1:
        return list(xs)
    pivot = xs[0]
    less = [x for x in xs[1:] if x < pivot]
    more = [x for x in xs[1:] if x >= pivot]
    return quicksort(less) + [pivot] + quicksort(more)


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": quicksort(data["xs"])})
