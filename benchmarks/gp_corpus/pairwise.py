import json


def pairwise(xs):
    for i in range(len(xs) - 1):
        yield [xs[i], xs[i + 1]]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": list(pairwise(data["xs"]))})
