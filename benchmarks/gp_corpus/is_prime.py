import json


def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": is_prime(data["n"])})
