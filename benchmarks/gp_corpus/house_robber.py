import json


def rob(xs):
    prev, cur = 0, 0
    for x in xs:
        prev, cur = cur, max(cur, prev + x)
    return cur


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": rob(data["xs"])})
