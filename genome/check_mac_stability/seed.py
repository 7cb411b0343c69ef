import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    bridge = data["bridge"]
    expected = (data.get("expected_mac") or "").lower() or None
    seconds = max(1, data.get("monitor_seconds", 10))
    try:
        start = gene_sdk.now()
        macs = [gene_sdk.get_link(bridge)["mac"]]
        for tick in range(1, seconds + 1):
            gene_sdk.sleep(max(0.0, start + tick - gene_sdk.now()))  # one sample a second, however long a sample takes
            macs.append(gene_sdk.get_link(bridge)["mac"])
    except Exception:
        return json.dumps({"healthy": False, "mac": "", "changes": 0})
    changes = sum(1 for a, b in zip(macs, macs[1:]) if a != b)
    healthy = changes == 0 and (expected is None or macs[-1] == expected)
    return json.dumps({"healthy": healthy, "mac": macs[-1], "changes": changes})
