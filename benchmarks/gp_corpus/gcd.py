import json


def gcd(a, b):
    while b:
        a, b = b, a % b
    return abs(a)


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": gcd(data["a"], data["b"])})
