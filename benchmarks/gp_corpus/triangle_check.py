import json


def triangle_kind(a, b, c):
    x, y, z = sorted([a, b, c])
    if x <= 0 or x + y <= z:
        return "none"
    if x == z:
        return "equilateral"
    if x == y or y == z:
        return "isosceles"
    return "scalene"


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": triangle_kind(data["a"], data["b"], data["c"])})
