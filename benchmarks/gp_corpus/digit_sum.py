import json


def digit_sum(n):
    total = 0
    while n > 0:
        total += n % 10
        n //= 10
    return total


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": digit_sum(data["n"])})
