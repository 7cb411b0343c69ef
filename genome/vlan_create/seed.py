import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    parent = data["parent_interface"]
    vlan_id = data["vlan_id"]
    name = data.get("name") or f"{parent}.{vlan_id}"
    try:
        gene_sdk.get_link(parent)
    except Exception:
        return json.dumps({"success": False, "interface": None, "error": f"parent interface not found: {parent}"})
    try:
        gene_sdk.create_vlan(parent, vlan_id, name)
        link = gene_sdk.set_link_up(name)
    except Exception as exc:
        return json.dumps({"success": False, "interface": None, "error": str(exc)})
    return json.dumps({"success": link["up"], "interface": name, "error": None})
