import json


def gray(n):
    return [i ^ (i >> 1) for i in range(1 << n)]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": gray(data["n"])})
