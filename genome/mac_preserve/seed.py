import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    bridge = data["bridge"]
    uplink = data["uplink"]

    def fail(message, mac=None, source=None, changed=False):
        return json.dumps({"success": False, "changed": changed, "mac": mac, "source": source, "error": message})

    try:
        current = gene_sdk.get_link(bridge)
    except Exception:
        return fail(f"bridge not found: {bridge}")
    try:
        uplink_mac = gene_sdk.get_link(uplink)["mac"]
    except Exception:
        uplink_mac = None
    candidates = [
        ("dhcp_lease", data.get("dhcp_lease_mac")),
        ("original", data.get("original_mac")),
        ("uplink", uplink_mac),
        ("current", current["mac"]),
    ]
    source, mac = next((s, m.lower()) for s, m in candidates if m)
    if mac != current["mac"]:
        try:
            gene_sdk.set_mac(bridge, mac)
        except Exception as exc:
            return fail(str(exc), current["mac"], None)
    carried = gene_sdk.get_link(bridge)["mac"]
    changed = carried != current["mac"]
    if carried != mac:
        return fail(f"{bridge} carries {carried}, not {mac}", carried, None, changed)
    return json.dumps({"success": True, "changed": changed, "mac": carried, "source": source, "error": None})
