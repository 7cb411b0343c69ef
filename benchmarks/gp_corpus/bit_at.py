import json


def bits(n, width):
    return [(n >> i) & 1 for i in range(width)]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": bits(data["n"], data["width"])})
