"""Domains: what a kind of genome is about, and everything sggit needs to know of it.

A domain carries its contracts and seeds, the kernel kinds its genes act on, the
resource kinds its topologies may declare, the gene_sdk surface its genes see and
the wording prompts use. `network` is built in; other domains install as Python
packages declaring an entry point in the group `sggit.domains` whose object is a
zero-argument factory returning a `Domain`.

This module imports nothing heavy, so `sggit doctor` and the contract checker can
list domains cheaply.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from sggit.contract.value_types import ValueType

ENTRY_POINT_GROUP = "sggit.domains"


Action = Literal["create", "change", "unchanged"]


@dataclass(frozen=True)
class PlannedRun:
    """One run of a resource kind's pathway: `key` names it in plans and reports,
    `interface` is what the topology's checks call the thing it makes.

    `claims` are the other things the run takes for its own, each with the role it
    gives it (`("eno1", "uplink")`, a bond's members, a table's staging table). No
    two runs may make one thing, nor take one thing: planning refuses the topology
    where they would fight over it, before any gene runs and is scored for a clash
    the bindings made. Taking what another run makes is using it (a bridge whose
    uplink is a bond), which the resources' order provides for.
    """

    key: str
    inputs: dict[str, Any]
    interface: str
    claims: tuple[tuple[str, str], ...] = ()


class ResourceView(Protocol):
    """A topology resource as its kind's planner reads it, `{refs}` already resolved.

    A value naming another resource of the topology reads as that resource's
    interface name.
    """

    name: str
    interface: str

    def value(self, prop: str) -> Any:
        """The property's first value, None when it is not given."""

    def values(self, prop: str) -> list[Any]:
        """Every value of the property, lists flattened."""

    def flag(self, prop: str, default: bool) -> bool:
        """The property as enabled/disabled (true/false, on/off, yes/no), `default` when not given."""


Planner = Callable[[ResourceView], list[PlannedRun]]
Assessor = Callable[[Any, PlannedRun, dict[str, Any]], tuple[Action, str]]
"""What a run would do to the kernel as it is now, and why; the dict is the plan's memo
of kernel reads, shared by every run of the plan, so a kind lists what it needs once."""


@dataclass(frozen=True)
class ResourceKind:
    """A resource a topology may declare (`is <name>`), and the pathway that makes it.

    `properties` maps each accepted property to whether its value names another
    resource of the same topology; `needs` lists the kernel features it takes.
    `plan` turns a declared resource into its pathway's runs and `assess` reads the
    kernel to say whether each is to create, already there, or there but different
    (which a deploy reports and never rebuilds in place). A kind without them is
    declared and checked in contracts, and `sggit plan` says it cannot plan it.
    """

    name: str
    properties: Mapping[str, bool]
    pathway: str
    needs: tuple[str, ...] = ()
    plan: Planner | None = None
    assess: Assessor | None = None
    name_key: Callable[[str], str] = str
    """When two of the names its runs make or claim are one thing (SQLite tables: whatever their case)."""


@dataclass(frozen=True)
class Domain:
    name: str
    description: str
    root: Path
    kernel_kinds: tuple[str, ...]
    resource_kinds: Mapping[str, ResourceKind]
    sdk_surface: str
    prompt_subject: str
    snapshot: Callable[[Any], Any]
    """The part of a kernel's state two genes must leave alike to be interchangeable."""
    host: Callable[[Mapping[str, Any]], Any]
    """The simulated host a phenotype's hardware bindings describe (a mock kernel's description)."""
    origin: str = "built in"
    extras: Mapping[str, Any] = field(default_factory=dict)
    kinds: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    """Kernel kinds this domain brings, name -> factory of a `KernelKind` (built-in kinds are in `KINDS`)."""
    value_types: tuple[ValueType, ...] = ()
    """Types its contracts may give a field beside the base ones (`contract.value_types`)."""

    @property
    def contracts_dir(self) -> Path:
        return self.root / "contracts"

    @property
    def seeds_dir(self) -> Path:
        return self.root / "genome"

    def resource_properties(self) -> dict[str, dict[str, bool]]:
        """The table the contract checker takes: kind -> property -> names a resource."""
        return {name: dict(kind.properties) for name, kind in self.resource_kinds.items()}


def _network() -> Domain:
    from sggit.domains.network import domain

    return domain()


def _data() -> Domain:
    from sggit.domains.data import domain

    return domain()


DOMAINS: dict[str, Callable[[], Domain]] = {
    "network": _network,
    "data": _data,
}
"""Built-in domains by name; entry points of `sggit.domains` add to these."""

DEFAULT_DOMAIN = "network"


class DomainError(Exception):
    """An installed domain that cannot be loaded; doctor reports it by name."""


@functools.cache
def _entry_point_factories() -> dict[str, Callable[[], Domain]]:
    from importlib.metadata import entry_points

    found: dict[str, Callable[[], Domain]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in DOMAINS:
            continue

        def load(ep: Any = ep) -> Domain:
            try:
                made = ep.load()()
            except Exception as exc:
                raise DomainError(f"domain {ep.name} ({ep.value}) cannot be loaded: {exc}") from exc
            if not isinstance(made, Domain):
                raise DomainError(f"domain {ep.name} ({ep.value}) did not return a sggit Domain")
            return made

        found[ep.name] = load
    return found


def factories() -> dict[str, Callable[[], Domain]]:
    """Every installed domain's factory, built-in first."""
    return {**DOMAINS, **_entry_point_factories()}


def get(name: str) -> Domain:
    table = factories()
    if name not in table:
        raise KeyError(f"no domain {name!r}; installed: {', '.join(table)}")
    return table[name]()


def installed() -> list[Domain]:
    """Every installed domain that loads; see `factories()` to find the ones that do not."""
    out = []
    for factory in factories().values():
        try:
            out.append(factory())
        except DomainError:
            continue
    return out


def resource_kinds() -> dict[str, dict[str, bool]]:
    """Resource kinds of every installed domain, as the contract checker takes them."""
    table: dict[str, dict[str, bool]] = {}
    for d in installed():
        table.update(d.resource_properties())
    return table


def resource_kind(name: str) -> ResourceKind | None:
    for d in installed():
        if name in d.resource_kinds:
            return d.resource_kinds[name]
    return None


def kernel_rule(check: Callable[[Any], object] | str) -> Callable[[Any], str | None]:
    """A value type's rule from the check a kernel makes of the same argument: the KernelError it raises is the problem.

    So a contract and every kernel of the domain refuse the same values, in the same words.
    `check` may be named as `"module:function"`, imported when a value is first
    checked, so registering a domain's types loads none of its kernel code.
    """

    def problem(value: Any) -> str | None:
        from sggit.kernel.api import KernelError

        try:
            _resolved(check)(value)
        except KernelError as exc:
            return str(exc)
        return None

    return problem


@functools.cache
def _imported(path: str) -> Callable[[Any], object]:
    module, _, name = path.partition(":")
    found: Callable[[Any], object] = getattr(importlib.import_module(module), name)
    return found


def _resolved(check: Callable[[Any], object] | str) -> Callable[[Any], object]:
    return _imported(check) if isinstance(check, str) else check


_installed: list[bool] = []


def install() -> None:
    """Tell the contract checker which topology resource kinds and value types the installed domains declare.

    The contract package knows no domain; modules that check a project's contracts
    call this once at import so every check and validator sees the same tables.
    """
    if _installed:
        return
    from sggit.contract.checks import register_resource_kinds
    from sggit.contract.value_types import register_value_types

    register_resource_kinds(resource_kinds())
    register_value_types(t for d in installed() for t in d.value_types)
    _installed.append(True)
