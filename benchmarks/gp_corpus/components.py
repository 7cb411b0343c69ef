import json


def find(parent, x):
    while parent[x] != x:
        x = parent[x]
    return x


def components(n, edges):
    parent = list(range(n))
    for a, b in edges:
        ra = find(parent, a)
        rb = find(parent, b)
        if ra != rb:
            parent[ra] = rb
    return len({find(parent, x) for x in range(n)})


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": components(data["n"], data["edges"])})
