import json


def single_number(xs):
    acc = 0
    for x in xs:
        acc ^= x
    return acc


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": single_number(data["xs"])})
