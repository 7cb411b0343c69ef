import json


def is_anagram(a, b):
    return sorted(a) == sorted(b)


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": is_anagram(data["a"], data["b"])})
