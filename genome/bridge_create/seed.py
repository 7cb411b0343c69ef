import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    name = data["bridge_name"]
    interfaces = data.get("interfaces", [])
    stp = data.get("stp_enabled", False)

    def fail(message):
        return json.dumps({"success": False, "resources_created": [], "error": message})

    existing = {link["name"]: link for link in gene_sdk.list_links()}
    if name in existing:
        return fail(f"bridge already exists: {name}")
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
        return json.dumps({"success": False, "resources_created": [name], "error": str(exc)})
    return json.dumps({"success": True, "resources_created": [name], "error": None})
