import json


def run_length(s):
    if not s:
        return []
    out = []
    prev = s[0]
    count = 1
    for ch in s[1:]:
        if ch == prev:
            count += 1
        else:
            out.append([prev, count])
            prev = ch
            count = 1
    out.append([prev, count])
    return out


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": run_length(data["s"])})
