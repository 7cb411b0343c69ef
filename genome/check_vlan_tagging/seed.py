import json

import gene_sdk


def execute(input_json: str) -> str:
    name = json.loads(input_json)["interface"]
    try:
        link = gene_sdk.get_link(name)
    except Exception:
        return json.dumps({"healthy": False, "vlan_id": None, "parent": None, "tagged": False})
    tagged = link["kind"] == "vlan"
    promised_parent, _, promised_id = name.rpartition(".")
    as_named = not promised_id.isdigit() or (
        link["vlan_id"] == int(promised_id) and link["parent"] == promised_parent
    )
    return json.dumps(
        {
            "healthy": bool(tagged and link["up"] and as_named),
            "vlan_id": link["vlan_id"],
            "parent": link["parent"],
            "tagged": tagged,
        }
    )
