import json


def flatten(items):
    out = []
    for item in items:
        if isinstance(item, list):
            out = out + flatten(item)
        else:
            out = out + [item]
    return out


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": flatten(data["items"])})
