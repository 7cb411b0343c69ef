import json


def fib_gen(count):
    a, b = 0, 1
    produced = 0
    while produced < count:
        yield a
        a, b = b, a + b
        produced += 1


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": list(fib_gen(data["count"]))})
