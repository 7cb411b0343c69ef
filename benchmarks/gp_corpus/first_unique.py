import json


def first_unique(s):
    counts = {}
    for ch in s:
        counts[ch] = counts.get(ch, 0) + 1
    for i, ch in enumerate(s):
        if counts[ch] == 1:
            return i
    return -1


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": first_unique(data["s"])})
