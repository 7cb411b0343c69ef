import json


def popcount(n):
    count = 0
    while n:
        n &= n - 1
        count += 1
    return count


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": popcount(data["n"])})
