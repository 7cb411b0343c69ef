import json

import gene_sdk

UPLINK_KINDS = ("physical", "veth", "bond")


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    bridge = data["bridge"]
    uplink = data["uplink"]
    previous = data.get("previous_uplink")

    changed = []

    def result(success, error=None, detached=None):
        return json.dumps({"success": success, "changed": bool(changed), "previous_uplink": detached, "error": error})

    links = {link["name"]: link for link in gene_sdk.list_links()}
    if links.get(bridge, {}).get("kind") != "bridge":
        return result(False, f"bridge not found: {bridge}")
    if uplink not in links:
        return result(False, f"uplink interface not found: {uplink}")
    master = links[uplink]["master"]
    if master not in (None, bridge):
        return result(False, f"{uplink} is a port of {master}")
    ports = [p["name"] for p in gene_sdk.list_ports(bridge)]
    if previous is None:
        candidates = [p for p in ports if p != uplink and links[p]["kind"] in UPLINK_KINDS]
        previous = candidates[0] if candidates else None
    try:
        if previous is not None and previous in ports and previous != uplink:
            gene_sdk.remove_port(bridge, previous)
            changed.append(previous)
        else:
            previous = None
        if master is None:
            gene_sdk.add_port(bridge, uplink)
            changed.append(uplink)
        if not links[uplink]["up"]:
            gene_sdk.set_link_up(uplink)
            changed.append(uplink)
    except Exception as exc:
        return result(False, str(exc), previous)
    attached = uplink in [p["name"] for p in gene_sdk.list_ports(bridge)]
    up = gene_sdk.get_link(uplink)["up"]
    return result(attached and up, None if attached and up else f"{uplink} is not an UP port of {bridge}", previous)
