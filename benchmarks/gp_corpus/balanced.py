import json


def balanced(s):
    level = 0
    for ch in s:
        if ch == "(":
            level += 1
        elif ch == ")":
            level -= 1
            if level < 0:
                return False
    return level == 0


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": balanced(data["s"])})
