import json


def argmax_first(xs):
    if not xs:
        return -1
    best = 0
    for i in range(1, len(xs)):
        if xs[i] > xs[best]:
            best = i
    return best


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": argmax_first(data["xs"])})
