import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    bridge = data["bridge"]
    try:
        link = gene_sdk.get_link(bridge)
    except Exception:
        return json.dumps({"success": False, "changed": False, "stp_enabled": False, "error": f"bridge not found: {bridge}"})
    if link["kind"] != "bridge":
        return json.dumps({"success": False, "changed": False, "stp_enabled": False, "error": f"{bridge} is not a bridge"})
    before = gene_sdk.get_stp(bridge)
    try:
        stp = gene_sdk.set_stp(
            bridge,
            data["enabled"],
            forward_delay=data.get("forward_delay", 15),
            hello_time=data.get("hello_time", 2),
            max_age=data.get("max_age", 20),
        )
    except Exception as exc:
        return json.dumps({"success": False, "changed": False, "stp_enabled": before["enabled"], "error": str(exc)})
    return json.dumps({"success": True, "changed": stp != before, "stp_enabled": stp["enabled"], "error": None})
