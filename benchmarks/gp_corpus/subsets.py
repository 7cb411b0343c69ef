import json


def subsets(xs):
    result = [[]]
    for x in xs:
        result = result + [s + [x] for s in result]
    return result


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": subsets(data["xs"])})
