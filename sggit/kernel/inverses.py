"""Inverse planners of the mutating gene_sdk operations.

Each planner reads the state BEFORE its operation (the old MAC, the old STP
timers, the ports of a bridge about to be deleted) through read operations of
the interface only, so one planner serves every kernel, and returns the steps
that take the operation back. An operation names its planner where it is
declared (`@mutating(inverses.set_mtu)` in api.py), so that declaration is the
only list of what changes a kernel.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

Planner = Callable[..., "list[UndoStep]"]


class UndoStep(BaseModel):
    op: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)

    def describe(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.op}({', '.join(parts)})"


def step(op: str, *args: Any, **kwargs: Any) -> UndoStep:
    return UndoStep(op=op, args=list(args), kwargs=kwargs)


def _kernel_error(message: str) -> Exception:
    from sggit.kernel.api import KernelError

    return KernelError(message)


def _restore_link_extras(kernel: Any, link: dict, addresses: list[str]) -> list[UndoStep]:
    steps = [step("set_mac", link["name"], link["mac"]), step("set_mtu", link["name"], link["mtu"])]
    steps += [step("add_address", link["name"], a) for a in addresses]
    if link["up"]:
        steps.append(step("set_link_up", link["name"]))
    return steps


def _rebuild_bridge(kernel: Any, name: str) -> list[UndoStep]:
    link = kernel.get_link(name)
    stp = kernel.get_stp(name)
    ports = kernel.list_ports(name)
    steps = [step("create_bridge", name, stp=stp["enabled"])]
    steps.append(step("set_stp", name, stp["enabled"], stp["forward_delay"], stp["hello_time"], stp["max_age"]))
    steps += [step("add_port", name, p["name"]) for p in ports]
    return steps + _restore_link_extras(kernel, link, kernel.list_addresses(name))


def _rebuild_bond(kernel: Any, name: str) -> list[UndoStep]:
    link = kernel.get_link(name)
    bond = kernel.get_bond(name)
    steps = [
        step(
            "create_bond",
            name,
            bond["mode"],
            [m["name"] for m in bond["members"]],
            miimon=bond["miimon"],
            autoconnect=bond["autoconnect"] is not False,
        )
    ]
    if link["master"]:
        steps.append(step("add_port", link["master"], name))
    return steps + _restore_link_extras(kernel, link, kernel.list_addresses(name))


def _rebuild_vlan(kernel: Any, name: str) -> list[UndoStep]:
    link = kernel.get_link(name)
    steps = [step("create_vlan", link["parent"], link["vlan_id"], name)]
    if link["master"]:
        steps.append(step("add_port", link["master"], name))
    return steps + _restore_link_extras(kernel, link, kernel.list_addresses(name))


def _with_vlans(kernel: Any, name: str, rebuild: Callable[[Any, str], list[UndoStep]]) -> list[UndoStep]:
    """Deleting a link deletes the VLANs on it too, so their rebuild follows its own."""
    steps = rebuild(kernel, name)
    for link in kernel.list_links():
        if link["kind"] == "vlan" and link["parent"] == name:
            steps += _rebuild_vlan(kernel, link["name"])
    return steps


def _same_address(cidr: str, present: list[str]) -> bool:
    try:
        wanted = ipaddress.ip_interface(cidr)
    except ValueError:
        return False
    return any(ipaddress.ip_interface(p) == wanted for p in present)


# one planner per mutating operation, taking that operation's parameters ------------
def set_link_up(kernel: Any, name: str) -> list[UndoStep]:
    return [] if kernel.get_link(name)["up"] else [step("set_link_down", name)]


def set_link_down(kernel: Any, name: str) -> list[UndoStep]:
    return [step("set_link_up", name)] if kernel.get_link(name)["up"] else []


def set_mac(kernel: Any, name: str, mac: str) -> list[UndoStep]:
    return [step("set_mac", name, kernel.get_link(name)["mac"])]


def set_mtu(kernel: Any, name: str, mtu: int) -> list[UndoStep]:
    return [step("set_mtu", name, kernel.get_link(name)["mtu"])]


def delete_link(kernel: Any, name: str) -> list[UndoStep]:
    kind = kernel.get_link(name)["kind"]
    rebuild = {"bridge": _rebuild_bridge, "bond": _rebuild_bond, "vlan": _rebuild_vlan}.get(kind)
    if rebuild is None:
        raise _kernel_error(f"delete_link: {name} is a {kind} link; deleting it could not be undone, so it is refused")
    return _with_vlans(kernel, name, rebuild)


def create_bridge(kernel: Any, name: str, stp: bool = False) -> list[UndoStep]:
    return [step("delete_bridge", name)]


def delete_bridge(kernel: Any, name: str) -> list[UndoStep]:
    return _with_vlans(kernel, name, _rebuild_bridge)


def add_port(kernel: Any, bridge: str, port: str) -> list[UndoStep]:
    return [] if kernel.get_link(port)["master"] == bridge else [step("remove_port", bridge, port)]


def remove_port(kernel: Any, bridge: str, port: str) -> list[UndoStep]:
    return [step("add_port", bridge, port)] if kernel.get_link(port)["master"] == bridge else []


def set_stp(kernel: Any, bridge: str, *_: Any, **__: Any) -> list[UndoStep]:
    old = kernel.get_stp(bridge)
    return [step("set_stp", bridge, old["enabled"], old["forward_delay"], old["hello_time"], old["max_age"])]


def create_bond(kernel: Any, name: str, mode: str, members: list[str], **_: Any) -> list[UndoStep]:
    from sggit.kernel.api import KernelError

    steps = [step("delete_bond", name)]
    for member in members if isinstance(members, list) else []:
        try:
            link = kernel.get_link(member)
        except KernelError:
            continue
        if not link["up"]:
            steps.append(step("set_link_down", member))
    return steps


def delete_bond(kernel: Any, name: str) -> list[UndoStep]:
    return _with_vlans(kernel, name, _rebuild_bond)


def create_vlan(kernel: Any, parent: str, vlan_id: int, name: str | None = None) -> list[UndoStep]:
    return [step("delete_link", name or f"{parent}.{vlan_id}")]


def add_address(kernel: Any, dev: str, cidr: str) -> list[UndoStep]:
    return [] if _same_address(cidr, kernel.list_addresses(dev)) else [step("remove_address", dev, cidr)]


def remove_address(kernel: Any, dev: str, cidr: str) -> list[UndoStep]:
    return [step("add_address", dev, cidr)] if _same_address(cidr, kernel.list_addresses(dev)) else []
