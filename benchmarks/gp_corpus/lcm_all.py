import json
from math import gcd


def lcm_all(xs):
    acc = 1
    for x in xs:
        acc = acc * x // gcd(acc, x)
    return acc


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": lcm_all(data["xs"])})
