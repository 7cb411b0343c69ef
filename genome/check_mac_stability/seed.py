import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    bridge = data["bridge"]
    expected = (data.get("expected_mac") or "").lower() or None
    seconds = max(1, data.get("monitor_seconds", 10))
    try:
        macs = [gene_sdk.get_link(bridge)["mac"]]
        for _ in range(seconds):
            gene_sdk.sleep(1)
            macs.append(gene_sdk.get_link(bridge)["mac"])
    except Exception:
        return json.dumps({"healthy": False, "mac": "", "changes": 0})
    changes = sum(1 for a, b in zip(macs, macs[1:]) if a != b)
    healthy = changes == 0 and (expected is None or macs[-1] == expected)
    return json.dumps({"healthy": healthy, "mac": macs[-1], "changes": changes})
