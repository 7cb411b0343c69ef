"""Inverses of mutating kernel calls, and the log a transaction rolls back from.

An inverse is planned from the state BEFORE the call (the old MAC, the old STP
timers, the ports of a bridge about to be deleted), using only read operations of
the Kernel interface, so one planner serves every kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from sggit.kernel.api import Kernel, KernelError


class UndoStep(BaseModel):
    op: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)

    def describe(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.op}({', '.join(parts)})"


class UndoEntry(BaseModel):
    """One mutating call that succeeded, and the steps that take it back."""

    op: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    steps: list[UndoStep] = Field(default_factory=list)


class UndoFailure(BaseModel):
    """An undo step that failed; rollback reports these rather than hiding them."""

    entry: str
    step: str
    error: str

    def __str__(self) -> str:
        return f"undo of {self.entry}: {self.step} failed: {self.error}"


class UndoLog(BaseModel):
    entries: list[UndoEntry] = Field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries)

    def record(self, op: str, args: list[Any], kwargs: dict[str, Any], steps: list[UndoStep]) -> None:
        self.entries.append(UndoEntry(op=op, args=list(args), kwargs=dict(kwargs), steps=steps))

    def mark(self) -> int:
        """A savepoint: pass it to rollback() to undo only what came after."""
        return len(self.entries)

    def rollback(self, kernel: Kernel, to: int = 0) -> list[UndoFailure]:
        """Undo entries after `to`, newest first; every failed step is returned.

        A failed step does not stop the rollback: the remaining entries still get
        their chance, because leaving more state behind is never better.
        """
        failures: list[UndoFailure] = []
        while len(self.entries) > to:
            entry = self.entries.pop()
            label = UndoStep(op=entry.op, args=entry.args, kwargs=entry.kwargs).describe()
            for step in entry.steps:
                try:
                    getattr(kernel, step.op)(*step.args, **step.kwargs)
                except Exception as exc:  # noqa: BLE001 - reported, never swallowed
                    failures.append(UndoFailure(entry=label, step=step.describe(), error=str(exc) or type(exc).__name__))
        return failures

    def rollback_action(self, kernel: Kernel, to: int = 0) -> Callable[[], list[str]]:
        """The runtime's `Rollback` form: undo, and say what could not be undone."""
        from sggit.kernel.dispatch import kernel_lock

        def undo() -> list[str]:
            with kernel_lock(kernel):
                return [str(f) for f in self.rollback(kernel, to)]

        return undo

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> UndoLog:
        return cls.model_validate_json(text)


def _step(op: str, *args: Any, **kwargs: Any) -> UndoStep:
    return UndoStep(op=op, args=list(args), kwargs=kwargs)


def _restore_link_extras(kernel: Kernel, link: dict, addresses: list[str]) -> list[UndoStep]:
    steps = [_step("set_mac", link["name"], link["mac"]), _step("set_mtu", link["name"], link["mtu"])]
    steps += [_step("add_address", link["name"], a) for a in addresses]
    if link["up"]:
        steps.append(_step("set_link_up", link["name"]))
    return steps


def _rebuild_bridge(kernel: Kernel, name: str) -> list[UndoStep]:
    link = kernel.get_link(name)
    stp = kernel.get_stp(name)
    ports = kernel.list_ports(name)
    steps = [_step("create_bridge", name, stp=stp["enabled"])]
    steps.append(
        _step("set_stp", name, stp["enabled"], stp["forward_delay"], stp["hello_time"], stp["max_age"])
    )
    steps += [_step("add_port", name, p["name"]) for p in ports]
    return steps + _restore_link_extras(kernel, link, kernel.list_addresses(name))


def _rebuild_bond(kernel: Kernel, name: str) -> list[UndoStep]:
    link = kernel.get_link(name)
    bond = kernel.get_bond(name)
    steps = [
        _step(
            "create_bond",
            name,
            bond["mode"],
            [m["name"] for m in bond["members"]],
            miimon=bond["miimon"],
            autoconnect=bond["autoconnect"] is not False,
        )
    ]
    if link["master"]:
        steps.append(_step("add_port", link["master"], name))
    return steps + _restore_link_extras(kernel, link, kernel.list_addresses(name))


def _rebuild_vlan(kernel: Kernel, name: str) -> list[UndoStep]:
    link = kernel.get_link(name)
    steps = [_step("create_vlan", link["parent"], link["vlan_id"], name)]
    if link["master"]:
        steps.append(_step("add_port", link["master"], name))
    return steps + _restore_link_extras(kernel, link, kernel.list_addresses(name))


def _with_vlans(rebuild: Callable[[Kernel, str], list[UndoStep]]) -> Callable[[Kernel, str], list[UndoStep]]:
    """Deleting a link deletes the VLANs on it too, so their rebuild follows its own."""

    def plan(kernel: Kernel, name: str) -> list[UndoStep]:
        steps = rebuild(kernel, name)
        for link in kernel.list_links():
            if link["kind"] == "vlan" and link["parent"] == name:
                steps += _rebuild_vlan(kernel, link["name"])
        return steps

    return plan


def _plan_delete_link(kernel: Kernel, name: str) -> list[UndoStep]:
    kind = kernel.get_link(name)["kind"]
    rebuild = {"bridge": _rebuild_bridge, "bond": _rebuild_bond, "vlan": _rebuild_vlan}.get(kind)
    if rebuild is None:
        raise KernelError(f"delete_link: {name} is a {kind} link; deleting it could not be undone, so it is refused")
    return _with_vlans(rebuild)(kernel, name)


def _plan_link_flag(kernel: Kernel, name: str, up: bool) -> list[UndoStep]:
    if kernel.get_link(name)["up"] == up:
        return []
    return [_step("set_link_down" if up else "set_link_up", name)]


def _plan_set_attr(kernel: Kernel, op: str, key: str, name: str) -> list[UndoStep]:
    return [_step(op, name, kernel.get_link(name)[key])]


def _plan_create_bond(kernel: Kernel, name: str, mode: str, members: list[str], **_: Any) -> list[UndoStep]:
    steps = [_step("delete_bond", name)]
    for member in members if isinstance(members, list) else []:
        try:
            link = kernel.get_link(member)
        except KernelError:
            continue
        if not link["up"]:
            steps.append(_step("set_link_down", member))
    return steps


def _plan_add_port(kernel: Kernel, bridge: str, port: str) -> list[UndoStep]:
    if kernel.get_link(port)["master"] == bridge:
        return []
    return [_step("remove_port", bridge, port)]


def _plan_remove_port(kernel: Kernel, bridge: str, port: str) -> list[UndoStep]:
    if kernel.get_link(port)["master"] != bridge:
        return []
    return [_step("add_port", bridge, port)]


def _plan_set_stp(kernel: Kernel, bridge: str, *_: Any, **__: Any) -> list[UndoStep]:
    old = kernel.get_stp(bridge)
    return [_step("set_stp", bridge, old["enabled"], old["forward_delay"], old["hello_time"], old["max_age"])]


def _plan_add_address(kernel: Kernel, dev: str, cidr: str) -> list[UndoStep]:
    if _same_address(cidr, kernel.list_addresses(dev)):
        return []
    return [_step("remove_address", dev, cidr)]


def _plan_remove_address(kernel: Kernel, dev: str, cidr: str) -> list[UndoStep]:
    if not _same_address(cidr, kernel.list_addresses(dev)):
        return []
    return [_step("add_address", dev, cidr)]


def _same_address(cidr: str, present: list[str]) -> bool:
    import ipaddress

    try:
        wanted = ipaddress.ip_interface(cidr)
    except ValueError:
        return False
    return any(ipaddress.ip_interface(p) == wanted for p in present)


Planner = Callable[..., list[UndoStep]]

PLANNERS: dict[str, Planner] = {
    "set_link_up": lambda k, name: _plan_link_flag(k, name, True),
    "set_link_down": lambda k, name: _plan_link_flag(k, name, False),
    "set_mac": lambda k, name, mac: _plan_set_attr(k, "set_mac", "mac", name),
    "set_mtu": lambda k, name, mtu: _plan_set_attr(k, "set_mtu", "mtu", name),
    "delete_link": _plan_delete_link,
    "create_bridge": lambda k, name, stp=False: [_step("delete_bridge", name)],
    "delete_bridge": lambda k, name: _with_vlans(_rebuild_bridge)(k, name),
    "add_port": _plan_add_port,
    "remove_port": _plan_remove_port,
    "set_stp": _plan_set_stp,
    "create_bond": _plan_create_bond,
    "delete_bond": lambda k, name: _with_vlans(_rebuild_bond)(k, name),
    "create_vlan": lambda k, parent, vlan_id, name=None: [_step("delete_link", name or f"{parent}.{vlan_id}")],
    "add_address": _plan_add_address,
    "remove_address": _plan_remove_address,
}
