import json


def power_of_two(n):
    return n > 0 and n & (n - 1) == 0


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": power_of_two(data["n"])})
