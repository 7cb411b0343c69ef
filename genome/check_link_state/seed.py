import json

import gene_sdk


def execute(input_json: str) -> str:
    device = json.loads(input_json)["device"]
    try:
        link = gene_sdk.get_link(device)
    except Exception:
        return json.dumps({"healthy": False, "exists": False, "state": "absent", "mtu": None, "mac": None})
    state = link["state"] if link["state"] in ("up", "down", "unknown") else "down"
    return json.dumps(
        {"healthy": link["up"], "exists": True, "state": state, "mtu": link["mtu"], "mac": link["mac"]}
    )
