import json


def unique(xs):
    seen = set()
    for x in xs:
        if x not in seen:
            seen.add(x)
            yield x


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": list(unique(data["xs"]))})
