import json


def isqrt(n):
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if mid * mid <= n:
            lo = mid
        else:
            hi = mid - 1
    return lo


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": isqrt(data["n"])})
