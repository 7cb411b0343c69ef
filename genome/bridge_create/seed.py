import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    name = data["bridge_name"]
    interfaces = data.get("interfaces", [])
    stp = data.get("stp_enabled", False)

    def fail(message, created=None):
        return json.dumps({"success": False, "changed": bool(created), "resources_created": created or [], "error": message})

    def reapply(link):
        """The bridge exists: accept it when it already has the requested ports, and settle STP and UP."""
        if link is None or link["kind"] != "bridge":
            return fail(f"{name} exists and is not a bridge")
        ports = sorted(p["name"] for p in gene_sdk.list_ports(name))
        if interfaces and ports != sorted(interfaces):
            return fail(f"bridge {name} already exists with other ports: {', '.join(ports) or 'none'}")
        changed = False
        if gene_sdk.get_stp(name)["enabled"] != stp:
            gene_sdk.set_stp(name, stp)
            changed = True
        for dev in [*interfaces, name]:
            if not gene_sdk.get_link(dev)["up"]:
                gene_sdk.set_link_up(dev)
                changed = True
        return json.dumps({"success": True, "changed": changed, "resources_created": [], "error": None})

    existing = {link["name"]: link for link in gene_sdk.list_links()}
    if name in existing:
        return reapply(existing.get(name))
    for nic in interfaces:
        if nic not in existing:
            return fail(f"interface not found: {nic}")
        if existing[nic]["master"]:
            return fail(f"interface {nic} is already enslaved to {existing[nic]['master']}")
    try:
        gene_sdk.create_bridge(name, stp=stp)
        for nic in interfaces:
            gene_sdk.add_port(name, nic)
            gene_sdk.set_link_up(nic)
        gene_sdk.set_link_up(name)
    except Exception as exc:
        return fail(str(exc), [name])
    return json.dumps({"success": True, "changed": True, "resources_created": [name], "error": None})
