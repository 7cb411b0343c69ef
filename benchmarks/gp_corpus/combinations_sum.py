import json


def count_sums(options, n):
    if n == 0:
        return 1
    if n < 0 or not options:
        return 0
    return count_sums(options, n - options[0]) + count_sums(options[1:], n)


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": count_sums(data["options"], data["n"])})
