import json


def counting_sort(xs, hi):
    counts = [0] * (hi + 1)
    for x in xs:
        counts[x] += 1
    out = []
    for value, count in enumerate(counts):
        out.extend([value] * count)
    return out


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": counting_sort(data["xs"], data["hi"])})
