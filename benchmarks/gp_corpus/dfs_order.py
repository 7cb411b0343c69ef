import json


def dfs_order(n, edges):
    adj = [[] for _ in range(n)]
    for u, v in edges:
        adj[u].append(v)
        adj[v].append(u)
    for nbs in adj:
        nbs.sort()
    seen = set()
    order = []
    stack = [0]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        stack.extend(reversed(adj[node]))
    return order


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": dfs_order(data["n"], data["edges"])})
