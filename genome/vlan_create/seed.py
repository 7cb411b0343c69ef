import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    parent = data["parent_interface"]
    vlan_id = data["vlan_id"]
    name = data.get("name") or f"{parent}.{vlan_id}"

    def fail(message):
        return json.dumps({"success": False, "changed": False, "interface": None, "error": message})

    try:
        gene_sdk.get_link(parent)
    except Exception:
        return fail(f"parent interface not found: {parent}")
    existing = {link["name"]: link for link in gene_sdk.list_links()}
    if name in existing:
        link = existing[name]
        if link["kind"] != "vlan" or link["parent"] != parent or link["vlan_id"] != vlan_id:
            return fail(f"{name} exists and is not VLAN {vlan_id} on {parent}")
        if link["up"]:
            return json.dumps({"success": True, "changed": False, "interface": name, "error": None})
    try:
        if name not in existing:
            gene_sdk.create_vlan(parent, vlan_id, name)
        link = gene_sdk.set_link_up(name)
    except Exception as exc:
        return fail(str(exc))
    return json.dumps({"success": link["up"], "changed": True, "interface": name, "error": None})
