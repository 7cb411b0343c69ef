"""The network topology resources: bridges, bonds and VLAN bridges, and how each is planned.

A resource becomes the inputs of the shipped pathway that makes it, and the
kernel's links say whether that run would create it, find it made, or find
something else in its place.
"""

from __future__ import annotations

from typing import Any

from sggit.domains import Action, PlannedRun, ResourceKind, ResourceView
from sggit.errors import UsageError


def _links(kernel: Any, memo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if "links" not in memo:
        memo["links"] = {link["name"]: link for link in kernel.list_links()}
    links: dict[str, dict[str, Any]] = memo["links"]
    return links


def plan_bridge(res: ResourceView) -> list[PlannedRun]:
    uplink = res.value("uplink")
    if uplink is None:
        raise UsageError(f"bridge {res.name} has no uplink", hint="the shipped bridge pathway moves an uplink NIC under the bridge")
    inputs = {"management_bridge": res.interface, "uplink_interface": uplink, "stp_enabled": res.flag("stp", True)}
    return [PlannedRun(key=res.name, inputs=inputs, interface=res.interface, claims=((str(uplink), "uplink"),))]


def assess_bridge(kernel: Any, run: PlannedRun, memo: dict[str, Any]) -> tuple[Action, str]:
    links = _links(kernel, memo)
    bridge, uplink = run.inputs["management_bridge"], run.inputs["uplink_interface"]
    link = links.get(bridge)
    master = links.get(uplink, {}).get("master")
    if link is None and master is not None:
        return "change", f"{uplink}, the uplink of bridge {bridge}, is a port of {master}"
    if link is None:
        return "create", f"bridge {bridge} with uplink {uplink}"
    if link["kind"] != "bridge":
        return "change", f"{bridge} exists as a {link['kind']} link, not a bridge"
    if master != bridge:
        return "change", f"bridge {bridge} exists but {uplink} is not its port"
    return "unchanged", f"bridge {bridge} with uplink {uplink}"


def plan_bond(res: ResourceView) -> list[PlannedRun]:
    inputs = {"bond_name": res.interface, "members": res.values("members"), "mode": res.value("mode") or "active-backup"}
    return [PlannedRun(key=res.name, inputs=inputs, interface=res.interface,
                       claims=tuple((str(member), "member") for member in inputs["members"]))]


def assess_bond(kernel: Any, run: PlannedRun, memo: dict[str, Any]) -> tuple[Action, str]:
    name, mode, wanted = run.inputs["bond_name"], run.inputs["mode"], run.inputs["members"]
    link = _links(kernel, memo).get(name)
    if link is None:
        return "create", f"bond {name} ({mode}) over {', '.join(wanted)}"
    if link["kind"] != "bond":
        return "change", f"{name} exists as a {link['kind']} link, not a bond"
    bond = kernel.get_bond(name)
    members = sorted(m["name"] if isinstance(m, dict) else m for m in bond.get("members", []))
    if members != sorted(wanted) or bond.get("mode") != mode:
        return "change", f"bond {name} is {bond.get('mode')} over {', '.join(members)}"
    return "unchanged", f"bond {name} ({mode}) over {', '.join(members)}"


def plan_vlan_bridges(res: ResourceView) -> list[PlannedRun]:
    trunk, stp = res.value("trunk"), res.flag("stp", False)
    return [PlannedRun(key=f"{res.name}[{vlan}]", interface=f"vmbr{vlan}",
                       inputs={"parent_interface": trunk, "vlan_id": vlan, "stp_enabled": stp},
                       claims=((f"{trunk}.{vlan}", "VLAN link"),))
            for vlan in res.values("vlans")]


def assess_vlan_bridge(kernel: Any, run: PlannedRun, memo: dict[str, Any]) -> tuple[Action, str]:
    links = _links(kernel, memo)
    vlan = f"{run.inputs['parent_interface']}.{run.inputs['vlan_id']}"
    bridge = run.interface
    if vlan not in links and bridge not in links:
        return "create", f"VLAN {vlan} under bridge {bridge}"
    if links.get(vlan, {}).get("master") == bridge and links.get(bridge, {}).get("kind") == "bridge":
        return "unchanged", f"VLAN {vlan} under bridge {bridge}"
    return "change", f"{vlan} or {bridge} exists but {vlan} is not a port of bridge {bridge}"


RESOURCE_KINDS: dict[str, ResourceKind] = {
    "bridge": ResourceKind(
        "bridge", {"uplink": False, "mac": False, "stp": False, "ports": False, "name": False},
        pathway="provision_management_bridge", plan=plan_bridge, assess=assess_bridge, needs=("bridge",),
    ),
    "bond": ResourceKind(
        "bond", {"mode": False, "members": False, "miimon": False, "name": False},
        pathway="provision_bond", plan=plan_bond, assess=assess_bond, needs=("bond",),
    ),
    "vlan_bridges": ResourceKind(
        "vlan_bridges", {"trunk": True, "vlans": False, "stp": False},
        pathway="provision_vlan_bridge", plan=plan_vlan_bridges, assess=assess_vlan_bridge, needs=("vlan", "bridge"),
    ),
}
