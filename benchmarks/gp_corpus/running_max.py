import json


def running_max(xs):
    best = None
    for x in xs:
        best = x if best is None else max(best, x)
        yield best


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": list(running_max(data["xs"]))})
