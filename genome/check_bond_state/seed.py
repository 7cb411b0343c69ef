import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    try:
        bond = gene_sdk.get_bond(data["bond"])
    except Exception:
        return json.dumps(
            {"healthy": False, "mode": None, "active_member": None, "members_up": 0, "members_total": 0}
        )
    total = len(bond["members"])
    healthy = bool(bond["up"] and bond["active_member"] and total and bond["members_up"] == total)
    return json.dumps(
        {
            "healthy": healthy,
            "mode": bond["mode"],
            "active_member": bond["active_member"],
            "members_up": bond["members_up"],
            "members_total": total,
        }
    )
