import json


def prefix_sums(xs):
    result = []
    total = 0
    for item in xs:
        total += item
        result.append(total)
    return result


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": prefix_sums(data["xs"])})
