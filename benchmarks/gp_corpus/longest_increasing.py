import json


def lis(xs):
    if not xs:
        return 0
    dp = [1] * len(xs)
    for i in range(len(xs)):
        for j in range(i):
            if xs[j] < xs[i]:
                dp[i] = max(dp[i], dp[j] + 1)
    return max(dp)


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": lis(data["xs"])})
