import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    name = data["bond_name"]
    members = data["members"]
    mode = data.get("mode", "active-backup")

    def result(success, error=None, created=None, changed=None):
        changed = bool(created) if changed is None else changed
        return json.dumps({"success": success, "changed": changed, "resources_created": created or [], "error": error})

    links = {link["name"]: link for link in gene_sdk.list_links()}
    if name in links:
        if links[name]["kind"] != "bond":
            return result(False, f"{name} exists and is not a bond")
        bond = gene_sdk.get_bond(name)
        if bond["mode"] != mode or sorted(m["name"] for m in bond["members"]) != sorted(members):
            return result(False, f"bond {name} already exists with another mode or other members")
        if bond["up"]:
            return result(True, changed=False)
        gene_sdk.set_link_up(name)
        return result(gene_sdk.get_bond(name)["up"], changed=True)
    for member in members:
        if member not in links:
            return result(False, f"member not found: {member}")
        if links[member]["master"]:
            return result(False, f"{member} is already enslaved to {links[member]['master']}")
    try:
        gene_sdk.create_bond(name, mode, members, miimon=data.get("miimon", 100))
        gene_sdk.set_link_up(name)
    except Exception as exc:
        return result(False, str(exc))
    bond = gene_sdk.get_bond(name)
    enslaved = sorted(m["name"] for m in bond["members"]) == sorted(members)
    return result(enslaved and bond["up"], None if enslaved else "not every member was enslaved", [name])
