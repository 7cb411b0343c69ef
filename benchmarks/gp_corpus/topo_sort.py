import json


def topo_sort(n, edges):
    indeg = [0] * n
    adj = [[] for _ in range(n)]
    for u, v in edges:
        adj[u].append(v)
        indeg[v] += 1
    queue = [i for i in range(n) if indeg[i] == 0]
    order = []
    while queue:
        node = queue.pop(0)
        order.append(node)
        for nb in adj[node]:
            indeg[nb] -= 1
            if indeg[nb] == 0:
                queue.append(nb)
    return order if len(order) == n else []


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": topo_sort(data["n"], data["edges"])})
