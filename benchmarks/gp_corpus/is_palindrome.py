import json


def is_palindrome(s):
    for i in range(len(s) // 2):
        if s[i] != s[-i - 1]:
            return False
    return True


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": is_palindrome(data["s"])})
