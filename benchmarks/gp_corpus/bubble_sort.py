import json


def bubble_sort(xs):
    a = list(xs)
    n = len(a)
    for i in range(n):
        for j in range(n - 1 - i):
            if a[j] > a[j + 1]:
                a[j], a[j + 1] = a[j + 1], a[j]
    return a


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": bubble_sort(data["xs"])})
