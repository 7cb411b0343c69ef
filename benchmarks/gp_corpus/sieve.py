import json


def primes_upto(n):
    is_p = [True] * (n + 1)
    out = []
    for p in range(2, n + 1):
        if is_p[p]:
            out.append(p)
            for m in range(p * p, n + 1, p):
                is_p[m] = False
    return out


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": primes_upto(data["n"])})
