import json


def sift_down(a, root, end):
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and a[child + 1] > a[child]:
            child += 1
        if a[root] >= a[child]:
            return
        a[root], a[child] = a[child], a[root]
        root = child


def heap_sort(xs):
    a = list(xs)
    for start in range(len(a) // 2 - 1, -1, -1):
        sift_down(a, start, len(a))
    for end in range(len(a) - 1, 0, -1):
        a[0], a[end] = a[end], a[0]
        sift_down(a, 0, end)
    return a


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": heap_sort(data["xs"])})
