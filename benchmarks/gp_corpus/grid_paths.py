import json


def grid_paths(rows, cols, blocked):
    walls = {(r, c) for r, c in blocked}
    ways = {}
    for r in range(rows):
        for c in range(cols):
            if (r, c) in walls:
                ways[r, c] = 0
            elif r == 0 and c == 0:
                ways[r, c] = 1
            else:
                ways[r, c] = ways.get((r - 1, c), 0) + ways.get((r, c - 1), 0)
    return ways[rows - 1, cols - 1]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": grid_paths(data["rows"], data["cols"], data["blocked"])})
