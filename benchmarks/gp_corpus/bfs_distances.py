import json


def bfs(n, edges):
    adj = [[] for _ in range(n)]
    for u, v in edges:
        adj[u].append(v)
        adj[v].append(u)
    dist = {0: 0}
    queue = [0]
    while queue:
        node = queue.pop(0)
        for nb in adj[node]:
            if nb not in dist:
                dist[nb] = dist[node] + 1
                queue.append(nb)
    return [dist.get(i, -1) for i in range(n)]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": bfs(data["n"], data["edges"])})
