import json


def selection_sort(xs):
    a = list(xs)
    for i in range(len(a)):
        m = i
        for j in range(i + 1, len(a)):
            if a[j] < a[m]:
                m = j
        a[i], a[m] = a[m], a[i]
    return a


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": selection_sort(data["xs"])})
