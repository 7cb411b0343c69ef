import json


def common_prefix(words):
    if not words:
        return ""
    first = words[0]
    for i in range(len(first)):
        for w in words[1:]:
            if i >= len(w) or w[i] != first[i]:
                return first[:i]
    return first


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": common_prefix(data["words"])})
