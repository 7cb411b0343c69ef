"""Topologies: the resources a host should have, turned into pathway runs against what it has.

A topology's `has:` block names resources by kind (RESOURCE_KINDS). The planner
maps each kind onto a shipped pathway, binds `{nic.N}` and other parameters from
the phenotype's bindings, and infers dependencies from references between
resources (`trunk storage`). Planning reads the kernel and changes nothing;
deploying runs only what is missing, independent resources concurrently, then
the topology's `verify` block under one shared window, then its failure policy.
A resource whose link type this kernel cannot create is reported as
unsupported, never faked, and what depends on it as blocked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from sggit import domains
from sggit.contract import nodes as n
from sggit.contract.tree import ContractTree
from sggit.contract.validate import Invalid, Validator
from sggit.domains import Assessor, PlannedRun, Planner, ResourceKind
from sggit.errors import SggitError, UsageError
from sggit.kernel.api import Kernel
from sggit.runtime.deadline import host_settled
from sggit.runtime.deploy_checks import CheckResult, RunCheck, Wait, verify
from sggit.runtime.pathway import PathwayResult
from sggit.runtime.values import ResolveError, evaluate

Action = Literal["create", "change", "unchanged", "unsupported", "blocked"]
_ON = {"enabled", "true", "on", "yes"}
_OFF = {"disabled", "false", "off", "no"}


class Invocation(BaseModel):
    """One pathway run that makes one resource (or one VLAN of a `vlan_bridges` resource)."""

    key: str
    resource: str
    kind: str
    pathway: str
    inputs: dict[str, Any]
    needs: list[str] = Field(default_factory=list)
    interface: str


class PlannedChange(BaseModel):
    invocation: Invocation
    action: Action
    reason: str = ""


class Plan(BaseModel):
    topology: str
    phenotype: str
    changes: list[PlannedChange]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for change in self.changes:
            out[change.action] = out.get(change.action, 0) + 1
        return out


class ResourceResult(BaseModel):
    key: str
    action: Action
    status: Literal["created", "unchanged", "failed", "unsupported", "blocked", "rolled_back"]
    error: str | None = None
    pathway: dict[str, Any] | None = None


class DeployReport(BaseModel):
    topology: str
    phenotype: str
    status: Literal["ok", "partial", "failed"]
    resources: list[ResourceResult]
    checks: list[CheckResult]
    policies: list[str]
    rollback_errors: list[str] = Field(default_factory=list)

    @property
    def changed(self) -> list[str]:
        return [r.key for r in self.resources if r.status in ("created", "rolled_back")]

    def failures(self) -> list[str]:
        out = [f"{r.key}: {r.status}: {r.error}" for r in self.resources if r.status in ("failed", "unsupported", "blocked")]
        out += [f"{c.locus} {c.input}: {c.detail}" for c in self.checks if c.status == "unhealthy"]
        return out


# -- planning --------------------------------------------------------------------------


def topology_of(tree: ContractTree, name: str) -> n.Topology:
    topo = tree.topologies.get(name)
    if topo is None:
        raise UsageError(f"unknown topology {name}", hint=f"known: {', '.join(sorted(tree.topologies)) or 'none'}")
    return topo


def topology_names(topo: n.Topology, bindings: dict[str, Any]) -> dict[str, Any]:
    """The names a topology's `{refs}` see: its `takes`, filled from the phenotype's bindings."""
    given = {f.name: bindings[f.name] for f in topo.takes if f.name in bindings}
    try:
        return Validator(topo.takes)(given)
    except Invalid as exc:
        raise UsageError(f"the phenotype's bindings do not satisfy topology {topo.name}: " + "; ".join(str(v) for v in exc.violations)) from None


def _flag(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return default
    text = str(value).lower()
    if text in _ON:
        return True
    if text in _OFF:
        return False
    raise UsageError(f"expected enabled or disabled, not {value!r}")


class _Resource:
    """A declared resource as its kind's planner reads it (`domains.ResourceView`)."""

    def __init__(self, res: n.Resource, names: dict[str, Any], interfaces: dict[str, str]) -> None:
        self._res, self._names, self._interfaces = res, names, interfaces
        self.name = res.name
        self.interface = interfaces[res.name]

    def values(self, prop: str) -> list[Any]:
        found = _values(self._res, prop, self._names)
        if prop == "name":
            return found
        return [self._interfaces.get(v, v) if isinstance(v, str) else v for v in found]

    def value(self, prop: str) -> Any:
        found = self.values(prop)
        return found[0] if found else None

    def flag(self, prop: str, default: bool) -> bool:
        return _flag(self.value(prop), default)


def _kind(resource: str, name: str | None) -> tuple[ResourceKind, Planner, Assessor]:
    """The installed resource kind `resource` declares, with its planner and assessor; a usage error if it has none."""
    kind = domains.resource_kind(name) if name else None
    if kind is None:
        raise UsageError(f"resource {resource}: unknown kind {name!r}", hint=f"one of {', '.join(sorted(domains.resource_kinds()))}")
    if kind.plan is None or kind.assess is None:
        raise UsageError(f"resource {resource}: its domain declares kind {name!r} but gives no way to plan it",
                         hint="a ResourceKind needs `plan` and `assess` for `sggit plan` and `sggit deploy`")
    return kind, kind.plan, kind.assess


def plan_invocations(tree: ContractTree, topology: str, bindings: dict[str, Any]) -> list[Invocation]:
    """Every pathway run the topology asks for, in dependency order; each kind plans its own."""
    topo = topology_of(tree, topology)
    names = topology_names(topo, bindings)
    resources = {r.name: r for r in topo.has}
    out: list[Invocation] = []
    refused: list[RefusedResource] = []

    def refuse(res: n.Resource, said: str, advice: str | None = None) -> None:
        refused.append(RefusedResource(tree.path_of(topo), res.line or 1, res.column or 1, said, res.name, topo.name, advice))

    def unplannable(res: n.Resource, exc: UsageError) -> None:
        """What the resource says, or the bindings it uses, cannot be planned: located there."""
        refuse(res, exc.message if exc.message.startswith(f"resource {res.name}") else f"resource {res.name}: {exc.message}", exc.hint)

    interface: dict[str, str] = {}
    for res in topo.has:
        try:
            interface[res.name] = _single(res, "name", names) or res.name
        except UsageError as exc:
            unplannable(res, exc)
            interface[res.name] = res.name
    made: dict[str, tuple[str, str | None]] = {}
    claimed: dict[str, tuple[str, str | None]] = {}
    for res in topo.has:
        kind, planner, _ = _kind(res.name, res.kind)
        needs = sorted({v.value for p in res.properties for v in p.values if isinstance(v, n.Word) and v.value in resources and v.value != res.name})
        try:
            runs = planner(_Resource(res, names, interface))
        except UsageError as exc:
            unplannable(res, exc)
            continue
        for run in runs:
            problem = _refusal(tree, topo, res, run.key, kind.pathway, run.inputs)
            if problem is not None:
                refused.append(problem)
            for thing, role in [(run.interface, None), *run.claims]:
                held, name = made if role is None else claimed, kind.name_key(thing)
                if name in held:
                    refuse(res, _clash(run.key, thing, role, *held[name]))
                else:
                    held[name] = (run.key, role)
            out.append(Invocation(key=run.key, resource=res.name, kind=kind.name, pathway=kind.pathway,
                                  inputs=run.inputs, needs=needs, interface=run.interface))
    if refused:
        raise ResourceValueError(refused, topo.name)
    try:
        return _ordered(out)
    except _Cycle as exc:
        unplannable(resources[exc.pending[0].resource], exc)
        raise ResourceValueError(refused, topo.name) from None


@dataclass(frozen=True)
class RefusedResource:
    """One planned run whose values its pathway refuses, at its resource in the topology file."""

    path: str
    line: int
    column: int
    said: str
    resource: str
    topology: str
    advice: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.said}"

    @property
    def hint(self) -> str:
        fix = f"fix resource {self.resource} of topology {self.topology}, or the phenotype bindings it uses"
        return fix if self.advice is None else f"{self.advice}; or {fix}"


class ResourceValueError(UsageError):
    """Every resource whose values its pathway refuses, each at the resource in its topology file (`sggit check` shows them there too)."""

    def __init__(self, refused: list[RefusedResource], topology: str) -> None:
        names = list(dict.fromkeys(r.resource for r in refused))
        super().__init__("\n".join(str(r) for r in refused),
                         hint=refused[0].hint if len(names) == 1 else
                         f"fix resources {', '.join(names)} of topology {topology}, or the phenotype bindings they use")
        self.refused, self.topology = refused, topology


def _refusal(tree: ContractTree, topo: n.Topology, res: n.Resource, key: str, pathway: str, inputs: dict[str, Any]) -> RefusedResource | None:
    """A resource whose values its pathway refuses (`vlans [0]`, `mode bogus`) is the topology's error, located there,
    before any gene runs: deploying it would fail the pathway's input check at run time, resource by resource."""
    from sggit.contract.validate import Validator

    target = tree.pathways.get(pathway)
    if target is None:
        return None
    _, problems = Validator(target.takes).validate(inputs)
    if not problems:
        return None
    said = "; ".join(str(p) for p in problems[:3])
    return RefusedResource(tree.path_of(topo), res.line or 1, res.column or 1, f"resource {key}: {pathway} refuses its values: {said}",
                           res.name, topo.name)


def _clash(key: str, thing: str, role: str | None, other: str, other_role: str | None) -> str:
    """Why a run cannot make `thing` (`role` None) or take it as its `role`: run `other` makes or takes it already.

    Taking what another run makes is using it (a bridge on a bond), not a clash.
    """
    if role is None:
        return f"resource {key}: {thing} is made twice" if other == key else f"resource {key}: {thing}, which it makes, is already made by resource {other}"
    if other == key:
        return f"resource {key}: {thing} is its {role} twice" if role == other_role else f"resource {key}: {thing}, its {role}, is also its {other_role}"
    return f"resource {key}: {thing}, its {role}, is already the {other_role} of resource {other}"


def _values(res: n.Resource, prop: str, names: dict[str, Any]) -> list[Any]:
    found = res.property(prop)
    if found is None:
        return []
    out: list[Any] = []
    for value in found.values:
        try:
            item = evaluate(value, names)
        except ResolveError as exc:
            raise UsageError(f"resource {res.name}: {prop}: {exc}") from None
        out.extend(item if isinstance(item, list) else [item])
    return out


def _single(res: n.Resource, prop: str, names: dict[str, Any]) -> Any:
    values = _values(res, prop, names)
    return values[0] if values else None


class _Cycle(UsageError):
    def __init__(self, pending: list[Invocation]) -> None:
        super().__init__("resources refer to each other in a cycle: " + ", ".join(i.key for i in pending))
        self.pending = pending


def _ordered(invocations: list[Invocation]) -> list[Invocation]:
    done: set[str] = set()
    out: list[Invocation] = []
    pending = list(invocations)
    while pending:
        ready = [i for i in pending if set(i.needs) <= done]
        if not ready:
            raise _Cycle(pending)
        out.extend(ready)
        pending = [i for i in pending if i not in ready]
        done |= {i.resource for i in out} - {i.resource for i in pending}
    return out


def plan(kernel: Kernel, tree: ContractTree, topology: str, phenotype: str, bindings: dict[str, Any]) -> Plan:
    """What deploying would do, read from the kernel; nothing is changed."""
    invocations = plan_invocations(tree, topology, bindings)
    memo: dict[str, Any] = {}
    from sggit.kernel.kinds import kind_of

    kind = kind_of(kernel)
    features = kind.features(kernel)  # what this kernel can make: the link types a resource kind needs
    offered = kind.resource_kinds()
    out: list[PlannedChange] = []
    action_of: dict[str, Action] = {}
    for inv in invocations:
        resource_kind, _, assessor = _kind(inv.resource, inv.kind)
        missing = [f for f in resource_kind.needs if not features.get(f, (False, ""))[0]]
        blocked = [r for r in inv.needs if action_of.get(r) in ("unsupported", "blocked")]
        action: Action
        if inv.kind not in offered:
            action, reason = "unsupported", f"the {kind.name} kernel offers no {inv.kind} resources"
        elif missing:
            action, reason = "unsupported", "this kernel cannot create " + "; ".join(f"{f} links ({features.get(f, (False, 'not probed'))[1]})" for f in missing)
        elif blocked:
            action, reason = "blocked", f"needs {', '.join(blocked)}, which this kernel cannot provide"
        else:
            action, reason = assessor(kernel, PlannedRun(key=inv.key, inputs=inv.inputs, interface=inv.interface), memo)
        action_of[inv.resource] = action if action in ("unsupported", "blocked") else action_of.get(inv.resource, action)
        out.append(PlannedChange(invocation=inv, action=action, reason=reason))
    return Plan(topology=topology, phenotype=phenotype, changes=out)


# -- deploying -------------------------------------------------------------------------

RunPathway = Callable[[str, dict[str, Any]], PathwayResult]


def deploy(
    the_plan: Plan,
    topo: n.Topology,
    names: dict[str, Any],
    *,
    run_pathway: RunPathway,
    run_check: RunCheck,
    waiting: Wait | None = None,
    max_workers: int = 4,
) -> DeployReport:
    """Apply a plan: missing resources concurrently in dependency order, then verify, then the failure policy."""
    policies = [p.text for p in topo.on_failure]
    results: dict[str, ResourceResult] = {}
    pathway_results: dict[str, PathwayResult] = {}
    completion: list[str] = []
    lock = threading.Lock()
    changes = {c.invocation.key: c for c in the_plan.changes}
    by_resource: dict[str, list[str]] = {}
    for c in the_plan.changes:
        by_resource.setdefault(c.invocation.resource, []).append(c.invocation.key)

    for c in the_plan.changes:
        if c.action in ("unsupported", "blocked"):
            results[c.invocation.key] = ResourceResult(key=c.invocation.key, action=c.action, status=c.action, error=c.reason)
        elif c.action == "unchanged":
            results[c.invocation.key] = ResourceResult(key=c.invocation.key, action=c.action, status="unchanged")
        elif c.action == "change":
            results[c.invocation.key] = ResourceResult(key=c.invocation.key, action=c.action, status="failed",
                                                        error=f"{c.reason}; an existing resource is never rebuilt in place")

    def run(key: str) -> None:
        inv = changes[key].invocation
        try:
            result = run_pathway(inv.pathway, inv.inputs)
        except SggitError as exc:
            outcome = ResourceResult(key=key, action="create", status="failed", error=str(exc))
        else:
            error = "; ".join(f"step {s.number} ({s.target}): {s.error}" for s in result.failed_steps()) or (None if result.ok else f"pathway {result.status}")
            outcome = ResourceResult(key=key, action="create", status="created" if result.ok else "failed", error=error, pathway=result.as_json())
            with lock:
                pathway_results[key] = result
        with lock:
            results[key] = outcome
            completion.append(key)

    def satisfied(resource: str) -> bool | None:
        states = [results.get(k) for k in by_resource.get(resource, [])]
        if any(s is None for s in states):
            return None
        return all(s.status in ("created", "unchanged") for s in states if s is not None)

    pending = [k for k, c in changes.items() if c.action == "create"]
    running: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"deploy-{topo.name}") as pool:
        while pending or running:
            for key in list(pending):
                needs = [satisfied(r) for r in changes[key].invocation.needs]
                if any(s is False for s in needs):
                    pending.remove(key)
                    results[key] = ResourceResult(key=key, action="create", status="blocked", error="a resource it needs was not deployed")
                elif all(s is True for s in needs):
                    pending.remove(key)
                    running[pool.submit(run, key)] = key
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                future.result()

    absent: set[str] = set()
    for c in the_plan.changes:
        if results[c.invocation.key].status in ("unsupported", "blocked"):
            absent |= {c.invocation.interface, c.invocation.resource}
    created = any(r.status == "created" for r in results.values())
    checks = verify(topo, names, run_check, waiting if created else None, absent)

    report = DeployReport(topology=topo.name, phenotype=the_plan.phenotype, status="ok",
                          resources=[results[c.invocation.key] for c in the_plan.changes], checks=checks, policies=policies)
    if not report.failures():
        return report
    if any(p.startswith("rollback") for p in policies):
        for key in reversed(completion):
            if results[key].status == "created":
                report.rollback_errors.extend(pathway_results[key].rollback())
                results[key].status = "rolled_back"
        report.resources = [results[c.invocation.key] for c in the_plan.changes]
        report.status = "failed"
        return report
    working = any(r.status in ("created", "unchanged") for r in report.resources)
    report.status = "partial" if working and "preserve what works" in policies else "failed"
    return report


# -- on an organism --------------------------------------------------------------------


def plan_on(organism: Any, topology: str | None = None) -> Plan:
    """The plan of a phenotype's topology (or another one) against the organism's kernel."""
    pmap = organism.phenotype()
    return plan(organism.kernel, organism.tree, topology or pmap.topology, organism.phenotype_name, dict(pmap.bindings))


def deploy_on(organism: Any, topology: str | None = None, *, max_workers: int = 4) -> tuple[Plan, DeployReport]:
    """Plan, then apply through the organism, so every pathway run is scored, transacted and can fuse.

    An organism that does not wait for verify windows runs the topology's checks at once.
    """
    the_plan = plan_on(organism, topology)
    topo = topology_of(organism.tree, the_plan.topology)
    names = topology_names(topo, dict(organism.phenotype().bindings))

    def run_check(locus: str, params: dict[str, Any]) -> tuple[bool, Any, str | None]:
        outcome = organism.run_locus(locus, params, verify=False)
        return outcome.ok, outcome.output, outcome.error

    kernel = organism.kernel
    waiting = Wait(kernel, organism.tentatively, lambda: host_settled(kernel), organism.progress, organism.backoff) if organism.wait_verify else None
    report = deploy(the_plan, topo, names, run_pathway=organism.run_pathway, run_check=run_check, waiting=waiting, max_workers=max_workers)
    return the_plan, report
