import json


def insertion_sort(xs):
    a = list(xs)
    for i in range(1, len(a)):
        key = a[i]
        j = i - 1
        while j >= 0 and a[j] > key:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = key
    return a


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": insertion_sort(data["xs"])})
