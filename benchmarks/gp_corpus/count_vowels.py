import json


def count_vowels(s):
    count = 0
    for ch in s.lower():
        if ch in "aeiou":
            count += 1
    return count


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": count_vowels(data["s"])})
