import json


def chunks(xs, size):
    for i in range(0, len(xs), size):
        yield xs[i:i + size]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": list(chunks(data["xs"], data["size"]))})
