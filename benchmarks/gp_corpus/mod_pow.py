import json


def mod_pow(base, exp, mod):
    result = 1 % mod
    base %= mod
    while exp > 0:
        if exp & 1:
            result = result * base % mod
        base = base * base % mod
        exp >>= 1
    return result


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": mod_pow(data["base"], data["exp"], data["mod"])})
