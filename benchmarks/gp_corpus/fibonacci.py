import json


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": fib(data["n"])})
