import json  # noqa: I001 - the program under repair, as written
import heapq


def dijkstra(n, edges):
    adj = [[] for _ in range(n)]
    for u, v, w in edges:
        adj[u].append((v, w))
        adj[v].append((u, w))
    dist = {0: 0}
    heap = [(0, 0)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v, w in adj[u]:
            nd = d + w
            if nd < dist.get(v, 10 ** 9):
                dist[v] = nd
                heapq.heappush(heap, (nd, v))
    return [dist.get(i, -1) for i in range(n)]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": dijkstra(data["n"], data["edges"])})
