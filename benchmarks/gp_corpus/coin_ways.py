import json


def coin_ways(coins, amount):
    ways = [1] + [0] * amount
    for c in coins:
        for a in range(c, amount + 1):
            ways[a] += ways[a - c]
    return ways[amount]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": coin_ways(data["coins"], data["amount"])})
