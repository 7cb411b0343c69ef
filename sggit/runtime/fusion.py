"""Fusion: a pathway that keeps succeeding with the same alleles becomes one gene.

A pathway expressed step by step pays, at every step, a worker round trip, JSON
both ways and a validation of input and output. Once it has run `threshold`
times in a row with the same allele at every locus, those checks only confirm
what the streak already showed, so the constituents are compiled into one
allele that runs in one worker call: each constituent's source becomes a local
factory of its `execute`, `import json` inside it becomes a shim that hands
values over as Python objects, and a small interpreter walks the pathway's plan
(references, `for` loops, `when` branches) exactly as the runner would. The
fused gene's input is the pathway's input; its output is
`{"ok", "outputs", "failed_step", "error"}` where `outputs` is the map of step
outputs the unfused pathway produces, so a replay can compare the two.

Decomposition is the way back: when the fused gene fails, its one transaction
is rolled back, the pathway is marked decomposed and runs step by step again,
where every step is scored, the broken one is found and mutated, and a new
streak can fuse it again.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from sggit.contract import nodes as n
from sggit.contract.tree import ContractTree
from sggit.errors import SggitError
from sggit.genome import phenostore
from sggit.genome.alleles import register_allele
from sggit.genome.lineage import Lineage
from sggit.genome.repo import Genome
from sggit.runtime.call import FusedOutput, call_allele, judge
from sggit.runtime.fusion_source import FusionError
from sggit.runtime.fusion_state import Reinforcement, Streak, StreakBook
from sggit.runtime.pathway import PathwayResult, StepReport, _describe, _step_needs
from sggit.runtime.values import evaluate

__all__ = ["Reinforcement", "Streak", "StreakBook"]

DEFAULT_THRESHOLD = 10
THRESHOLD_SETTING = "fusion_threshold"


# -- the plan: a pathway as plain data the fused gene can interpret ----------------------


def encode_value(value: n.Value) -> Any:
    """A contract value as JSON-able data: ["lit", v], ["ref", step, path], ["text", parts], ["list", items]."""
    if isinstance(value, (n.Scalar, n.Word)):
        return ["lit", value.value]
    if isinstance(value, n.ListValue):
        return ["list", [encode_value(v) for v in value.items]]
    single = value.single_ref
    if single is not None:
        return ["ref", single.step, list(single.path)]
    return ["text", [p if isinstance(p, str) else ["ref", p.step, list(p.path)] for p in value.parts]]


def _call(call: n.Call) -> dict[str, Any]:
    return {"target": call.target, "params": [[p.name, encode_value(p.value)] for p in call.params]}


def step_order(pathway: n.Pathway) -> list[int]:
    """Step numbers in an order that respects every dependency (the runner's, run one at a time)."""
    needs = _step_needs(pathway)
    done: list[int] = []
    pending = [s.number for s in pathway.steps]
    while pending:
        ready = next((num for num in pending if needs[num] <= set(done)), None)
        if ready is None:
            raise FusionError(f"pathway {pathway.name} has a dependency cycle")
        pending.remove(ready)
        done.append(ready)
    return done


def fusion_problem(tree: ContractTree, name: str) -> str | None:
    """Why a pathway cannot be fused, or None when it can."""
    pathway = tree.pathways.get(name)
    if pathway is None:
        return f"unknown pathway {name}"
    for step in pathway.steps:
        for call in step.calls():
            if call.pathway or call.target not in tree.genes:
                return f"step {step.number} calls pathway {call.target}; only pathways of genes fuse"
    return None


def plan_of(tree: ContractTree, name: str) -> dict[str, Any]:
    problem = fusion_problem(tree, name)
    if problem:
        raise FusionError(problem)
    pathway = tree.pathways[name]
    by_number = {s.number: s for s in pathway.steps}
    steps: list[dict[str, Any]] = []
    for num in step_order(pathway):
        body = by_number[num].body
        if isinstance(body, n.Call):
            steps.append({"number": num, "kind": "call", "call": _call(body)})
        elif isinstance(body, n.ForStep):
            steps.append({"number": num, "kind": "for", "var": body.var, "iterable": encode_value(body.iterable), "body": [_call(c) for c in body.body]})
        else:
            steps.append({"number": num, "kind": "when", "step": body.step, "path": list(body.path),
                          "branches": [[b.when, _call(b.call)] for b in body.branches]})
    loci = sorted({c.target for s in pathway.steps for c in s.calls()})
    genes = {
        locus: {
            "family": tree.genes[locus].family,
            "defaults": {f.name: evaluate(f.default, {}) for f in tree.genes[locus].takes if f.default is not None},
        }
        for locus in loci
    }
    return {"pathway": name, "steps": steps, "genes": genes}


def register_fused(genome: Genome, phenotype: str, pathway: str, source: str, alleles: dict[str, str], *, engine: str | None = None) -> str:
    """The fused gene as an allele at the pathway's name, its lineage naming the constituents, then the fusion commit."""
    lineage = Lineage(locus=pathway, origin="fusion", parents=sorted(set(alleles.values())), engine=engine, constituents=dict(sorted(alleles.items())))  # type: ignore[call-arg]  # extra lineage keys: the model allows them
    allele = register_allele(genome, pathway, source, lineage).id
    phenostore.fuse(genome, phenotype, pathway, allele)
    return allele


# -- reinforcement ------------------------------------------------------------------------


def threshold_for(settings: dict[str, Any]) -> int:
    from sggit.runtime.settings import problem

    value = settings.get(THRESHOLD_SETTING, DEFAULT_THRESHOLD)
    said = problem(THRESHOLD_SETTING, value)
    if said is not None:
        raise SggitError(said, hint="fix it in the phenotype's file and run `sggit init` again")
    return int(value)


def alleles_used(result: PathwayResult) -> dict[str, str] | None:
    """locus -> allele for every call the run made; None when a locus ran two different alleles."""
    used: dict[str, str] = {}
    for report in result.steps:
        for child in report.children:
            locus = getattr(child.detail, "locus", None)
            if child.allele is None or locus is None:
                return None
            if used.setdefault(locus, child.allele) != child.allele:
                return None
    return used


# -- running the fused gene's result as a pathway result ----------------------------------


def fused_result(pathway: n.Pathway, allele: str, output: FusedOutput) -> PathwayResult:
    """The fused run reported as the step-by-step runner would report it."""
    reports: list[StepReport] = []
    for step in pathway.steps:
        key = str(step.number)
        report = StepReport(number=step.number, target=_describe(step))
        if key in output.outputs:
            report.status, report.output, report.alleles = "ok", output.outputs[key], [allele]
        elif output.ok:
            report.status = "skipped"
        elif step.number == output.failed_step:
            report.status, report.error = "failed", output.error
        reports.append(report)
    return PathwayResult(pathway=pathway.name, status="ok" if output.ok else "failed", steps=reports, policies=[p.text for p in pathway.on_failure])


# -- replay: an optimised fused gene must reproduce the mechanical one ---------------------


class ReplayCase(BaseModel):
    input: dict[str, Any]
    ok: bool
    detail: str = ""


def _snapshot(kernel: Any) -> Any:
    """What two interchangeable genes must leave alike, as the kernel's domain defines it."""
    from sggit import domains
    from sggit.kernel.kinds import kind_of

    return domains.get(kind_of(kernel).domain).snapshot(kernel)


def replay(pool: Any, pathway: n.Pathway, mechanical: tuple[str, str], candidate: tuple[str, str], inputs: list[dict[str, Any]], kernel_factory: Any, *, timeout: float = 30.0) -> list[ReplayCase]:
    """Run both fused genes on each input, each on its own fresh kernel; agree on output and on the kernel they leave."""
    cases: list[ReplayCase] = []
    for data in inputs:
        seen: list[tuple[Any, Any]] = []
        for allele, source in (mechanical, candidate):
            kernel = kernel_factory()
            verdict = judge(pathway, call_allele(pool, pathway, allele, source, data, kernel, timeout=timeout).outcome)
            if isinstance(verdict.output, FusedOutput):
                seen.append((verdict.output.model_dump(mode="json"), _snapshot(kernel)))
            else:
                seen.append((verdict.error, None))
        (want, want_kernel), (got, got_kernel) = seen
        if not isinstance(got, dict):
            cases.append(ReplayCase(input=data, ok=False, detail=str(got)))
        elif got != want:
            cases.append(ReplayCase(input=data, ok=False, detail=f"output {json.dumps(got, sort_keys=True)} != {json.dumps(want, sort_keys=True)}"))
        elif got_kernel != want_kernel:
            cases.append(ReplayCase(input=data, ok=False, detail="leaves the kernel in a different state"))
        else:
            cases.append(ReplayCase(input=data, ok=True))
    return cases
