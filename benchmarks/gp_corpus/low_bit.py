import json


def low_bits(xs):
    return [x & -x for x in xs]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": low_bits(data["xs"])})
