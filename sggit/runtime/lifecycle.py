"""A new allele's way in: shadow -> canary -> recessive -> dominant.

Shadow: the allele is in the phenotype but never expressed; it is replayed on a
mock kernel (a copy of the live mock, or the phenotype's hardware) against the
failing input and recent accepted inputs. Canary: one real run inside a
transaction, undone if its diagnostics fail. Recessive: in the fallback stack,
earning fitness. Dominant: by the arena's rules, and only where the locus's risk
allows automatic promotion; high and critical loci wait for a reviewed phenotype
change (`sggit promote`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sggit.contract import nodes as n
from sggit.engines.base import Case
from sggit.genome import phenostore
from sggit.genome.alleles import allele_source
from sggit.genome.lineage import read_lineage
from sggit.genome.sync import pending_records
from sggit.kernel.api import Kernel
from sggit.kernel.kinds import kind_of
from sggit.runtime import regression
from sggit.runtime.attempt import Attempt, Expression
from sggit.runtime.evaluate import SandboxEvaluator
from sggit.runtime.hosts import target_of
from sggit.runtime.review import EVOLVED_ORIGINS
from sggit.runtime.safety import policy_for

__all__ = ["EVOLVED_ORIGINS", "Passage", "admit", "awaiting_review", "canary", "first_run", "screen"]

RECENT_INPUTS = 5


@dataclass
class Passage:
    """How far one allele got through the lifecycle, and why it stopped there."""

    allele: str
    locus: str
    state: str
    shadow_errors: list[str | None] = field(default_factory=list)
    canary: Attempt | None = None
    events: list[str] = field(default_factory=list)

    awaiting_review: bool = False

    @property
    def passed(self) -> bool:
        return self.state in ("recessive", "dominant") or self.awaiting_review


def shadow_kernels(organism: Expression) -> Callable[[], Kernel]:
    """Kernels for replay: copies of the live host's current state, as its kind makes them."""
    return kind_of(organism.kernel).shadow(organism.kernel, target_of(organism.genome, organism.phenotype()))


def fresh_kernels(organism: Expression) -> Callable[[], Kernel]:
    """The phenotype's simulated hardware as it boots: no bridges, bonds or VLANs yet."""
    return kind_of(organism.kernel).fresh(target_of(organism.genome, organism.phenotype()))


def replay_cases(organism: Expression, gene: n.Gene, failing_input: Any, *, limit: int = RECENT_INPUTS) -> list[Case]:
    """The failing input, then the latest distinct inputs this locus handled successfully."""
    cases: list[Case] = []
    seen: set[str] = set()

    def add(value: Any, kind: str) -> None:
        if not isinstance(value, dict):
            return
        key = json.dumps(value, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            cases.append(Case(input=value, expected=None, kind=kind))

    add(failing_input, "failing")
    recent = [r for r in pending_records(organism.genome) if r.locus == gene.name and r.ok and r.timescale == "immediate"]
    for record in reversed(recent):
        if len(cases) > limit:
            break
        add(record.input, "accepted")
    return cases


def shadow_replay(organism: Expression, gene: n.Gene, source: str, cases: list[Case], kernels: Callable[[], Kernel] | None = None) -> list[str | None]:
    """Per case: None if the allele passed it on a throwaway mock kernel, else why not."""
    evaluator = SandboxEvaluator(
        organism.pool, kernels or shadow_kernels(organism), gene=gene, timeout=organism.timeout, parallel=1,
        fresh_factory=fresh_kernels(organism),
    )
    return [evaluator.run_case(gene, source, case) for case in cases]


def set_state(organism: Expression, locus: str, allele: str, state: str) -> None:
    entry = organism.phenotype().locus(locus)
    if allele not in entry.alleles:
        phenostore.register_in_phenotype(organism.genome, organism.phenotype_name, locus, allele, state)
    else:
        phenostore.set_lifecycle(organism.genome, organism.phenotype_name, locus, allele, state)


def canary(organism: Expression, gene: n.Gene, allele: str, data: dict[str, Any], *, keep: bool = True) -> Attempt:
    """One real run in a transaction: undone when it fails, when diagnostics fail, or when `keep` is false."""
    attempt = organism.attempt(gene, allele, data, origin="mutation")
    tx = attempt.transaction
    failed_checks = attempt.ok and attempt.convergence is False
    if failed_checks:
        attempt.ok = False
        attempt.kind = "convergence"
        attempt.error = "canary diagnostics failed: " + "; ".join(d["summary"] for d in attempt.diagnostics if not d["healthy"])
    if (failed_checks or not keep) and tx is not None:
        attempt.undo_failures = tx.undo()
        attempt.transaction = None
    return attempt


def admit(
    organism: Expression,
    gene: n.Gene,
    allele: str,
    data: dict[str, Any],
    *,
    cases: list[Case] | None = None,
    keep_canary: bool = True,
    kernels: Callable[[], Kernel] | None = None,
    parent: str | None = None,
) -> Passage:
    """Take a registered allele as far as its locus's risk lets it go by itself.

    Every level first screens the allele on the regression set against `parent`
    (`screen`), unless the caller already judged it on `cases`. Then the risk
    table decides the way in: `shadow_first` replays the failing input and recent
    accepted inputs on a copy of the live host before any real run; `canary`
    makes the first real run a canary, undone when diagnostics are unhealthy;
    `review` stops the allele there (state canary, out of the stack) until a
    reviewed promotion merges. Elsewhere the first real run is an ordinary
    attempt in a transaction, and success makes the allele recessive. Dominance
    is the arena's call (`Scoring.consider_promotion`) or a promotion commit
    (`sggit.app.promotion`), both gated by risk.
    """
    locus = gene.name
    policy = policy_for(gene.risk)
    passage = Passage(allele=allele, locus=locus, state="shadow")
    set_state(organism, locus, allele, "shadow")
    source = allele_source(organism.genome, allele).decode("utf-8")
    if cases is None:
        problem = screen(organism, gene, source, parent)
        if problem is not None:
            passage.shadow_errors = [problem]
            passage.events.append(f"{allele[:7]} stays shadow at {locus}: {problem}")
            return passage
    if policy.shadow_first:
        passage.shadow_errors = shadow_replay(organism, gene, source, cases if cases is not None else replay_cases(organism, gene, data), kernels)
        failed = [e for e in passage.shadow_errors if e is not None]
        if failed:
            passage.events.append(f"{allele[:7]} stays shadow at {locus}: {failed[0]}")
            return passage
    if policy.canary:
        set_state(organism, locus, allele, "canary")
        passage.state = "canary"
        passage.canary = canary(organism, gene, allele, data, keep=keep_canary)
    else:
        passage.canary = first_run(organism, gene, allele, data, keep=keep_canary)
    if not passage.canary.ok:
        set_state(organism, locus, allele, "shadow")
        passage.state = "shadow"
        what = "canary run" if policy.canary else "first run"
        passage.events.append(f"{allele[:7]} failed its {what} at {locus}: {passage.canary.error}")
        return passage
    if policy.review:
        passage.awaiting_review = True
        passage.events.append(f"{allele[:7]} passed shadow and canary at {locus}: awaiting review ({gene.risk or 'high'} risk)")
        return passage
    set_state(organism, locus, allele, "recessive")
    passage.state = "recessive"
    passage.events.append(f"{allele[:7]} passed its first run at {locus}: now recessive")
    return passage


def screen(organism: Expression, gene: n.Gene, source: str, parent: str | None) -> str | None:
    """None when `source` passes the locus's regression set on the phenotype's clean hardware, else why not."""
    judge = SandboxEvaluator(organism.pool, fresh_kernels(organism), gene=gene, timeout=organism.timeout, parallel=1,
                             fresh_factory=fresh_kernels(organism))
    cases = regression.example_cases(gene)
    cases += regression.guard_cases(organism, gene, parent, cases, judge)
    for case in cases:
        error = judge.run_case(gene, source, case)
        if error is not None:
            return f"{case.kind} case {json.dumps(case.input, sort_keys=True)[:80]}: {error}"
    return None


def first_run(organism: Expression, gene: n.Gene, allele: str, data: dict[str, Any], *, keep: bool = True) -> Attempt:
    """A new allele's first real run where no canary is demanded: an ordinary attempt, undone unless `keep`."""
    attempt = organism.attempt(gene, allele, data, origin="mutation")
    tx = attempt.transaction
    if not keep and tx is not None:
        attempt.undo_failures = tx.undo()
        attempt.transaction = None
    return attempt


def awaiting_review(organism_genome: Any, phenotype: str, risks: dict[str, str | None]) -> list[tuple[str, str]]:
    """(locus, allele) pairs that passed the lifecycle at loci whose risk forbids auto-promotion.

    An evolved recessive allele at such a locus is exactly one that the runtime
    would have promoted by itself, had it been allowed to.
    """
    pmap = phenostore.read_phenotype(organism_genome, phenotype)
    found: list[tuple[str, str]] = []
    for locus, entry in sorted(pmap.loci.items()):
        if policy_for(risks.get(locus)).auto_promote:
            continue
        waiting = sorted(a for a, s in entry.alleles.items() if s.state == "canary")
        for allele in (entry.stack[1:] if entry.dominant else entry.stack) + waiting:
            lineage = read_lineage(organism_genome, locus, allele)
            if lineage is not None and lineage.origin in EVOLVED_ORIGINS:
                found.append((locus, allele))
    return found
