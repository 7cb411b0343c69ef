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
from typing import TYPE_CHECKING, Any

from sggit.contract import nodes as n
from sggit.engines.base import Case
from sggit.genome import phenostore
from sggit.genome.alleles import allele_source
from sggit.genome.lineage import read_lineage
from sggit.genome.sync import pending_records
from sggit.kernel.api import Kernel
from sggit.kernel.dispatch import kernel_lock
from sggit.kernel.kinds import kind_of
from sggit.runtime.evaluate import SandboxEvaluator
from sggit.runtime.safety import policy_for

if TYPE_CHECKING:
    from sggit.runtime.organism import Attempt, Organism

RECENT_INPUTS = 5
EVOLVED_ORIGINS = ("mutation", "crossover", "fusion")


@dataclass
class Passage:
    """How far one allele got through the lifecycle, and why it stopped there."""

    allele: str
    locus: str
    state: str
    shadow_errors: list[str | None] = field(default_factory=list)
    canary: Attempt | None = None
    events: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.state in ("recessive", "dominant")


def shadow_kernels(organism: Organism) -> Callable[[], Kernel]:
    """Fresh kernels for replay: copies of the live mock, or the phenotype's simulated hardware."""
    from sggit.runtime.session import kernel_target

    return kind_of(organism.kernel).shadow(organism.kernel, kernel_target(organism.genome, organism.phenotype_name))


def fresh_kernels(organism: Organism) -> Callable[[], Kernel]:
    """The phenotype's simulated hardware as it boots: no bridges, bonds or VLANs yet."""
    from sggit.runtime.session import kernel_target

    return kind_of(organism.kernel).fresh(kernel_target(organism.genome, organism.phenotype_name))


def replay_cases(organism: Organism, gene: n.Gene, failing_input: Any, *, limit: int = RECENT_INPUTS) -> list[Case]:
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


def shadow_replay(organism: Organism, gene: n.Gene, source: str, cases: list[Case], kernels: Callable[[], Kernel] | None = None) -> list[str | None]:
    """Per case: None if the allele passed it on a throwaway mock kernel, else why not."""
    evaluator = SandboxEvaluator(
        organism.pool, kernels or shadow_kernels(organism), gene=gene, timeout=organism.timeout, parallel=1,
        fresh_factory=fresh_kernels(organism),
    )
    return [evaluator.run_case(gene, source, case) for case in cases]


def set_state(organism: Organism, locus: str, allele: str, state: str) -> None:
    entry = organism.phenotype().locus(locus)
    if allele not in entry.alleles:
        phenostore.register_in_phenotype(organism.genome, organism.phenotype_name, locus, allele, state)
    else:
        phenostore.set_lifecycle(organism.genome, organism.phenotype_name, locus, allele, state)


def canary(organism: Organism, gene: n.Gene, allele: str, data: dict[str, Any], *, keep: bool = True) -> Attempt:
    """One real run in a transaction: undone when it fails, when diagnostics fail, or when `keep` is false."""
    attempt = organism.attempt(gene, allele, data, origin="mutation")
    undo = attempt.undo_log
    failed_checks = attempt.ok and attempt.convergence is False
    if failed_checks:
        attempt.ok = False
        attempt.kind = "convergence"
        attempt.error = "canary diagnostics failed: " + "; ".join(d["summary"] for d in attempt.diagnostics if not d["healthy"])
    if (failed_checks or not keep) and undo is not None and len(undo):
        with kernel_lock(organism.kernel):
            attempt.undo_failures = [f"{f.entry}: {f.step}: {f.error}" for f in undo.rollback(organism.kernel)]
        attempt.undo_log = None
    return attempt


def admit(
    organism: Organism,
    gene: n.Gene,
    allele: str,
    data: dict[str, Any],
    *,
    cases: list[Case] | None = None,
    keep_canary: bool = True,
    kernels: Callable[[], Kernel] | None = None,
) -> Passage:
    """Take a registered allele as far as recessive, if it earns it.

    Dominance is the arena's call at run time (`Organism.consider_promotion`) or a
    promotion commit (`sggit.runtime.promotion`), both gated by the locus's risk.
    """
    locus = gene.name
    passage = Passage(allele=allele, locus=locus, state="shadow")
    set_state(organism, locus, allele, "shadow")
    source = allele_source(organism.genome, allele).decode("utf-8")
    passage.shadow_errors = shadow_replay(organism, gene, source, cases if cases is not None else replay_cases(organism, gene, data), kernels)
    failed = [e for e in passage.shadow_errors if e is not None]
    if failed:
        passage.events.append(f"{allele[:7]} stays shadow at {locus}: {failed[0]}")
        return passage
    set_state(organism, locus, allele, "canary")
    passage.state = "canary"
    passage.canary = canary(organism, gene, allele, data, keep=keep_canary)
    if not passage.canary.ok:
        set_state(organism, locus, allele, "shadow")
        passage.state = "shadow"
        passage.events.append(f"{allele[:7]} failed its canary run at {locus}: {passage.canary.error}")
        return passage
    set_state(organism, locus, allele, "recessive")
    passage.state = "recessive"
    passage.events.append(f"{allele[:7]} passed shadow and canary at {locus}: now recessive")
    return passage


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
        for allele in entry.stack[1:] if entry.dominant else entry.stack:
            lineage = read_lineage(organism_genome, allele)
            if lineage is not None and lineage.origin in EVOLVED_ORIGINS:
                found.append((locus, allele))
    return found
