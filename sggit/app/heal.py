"""`sggit heal`: evolution on request rather than on a failed run.

Heal asks the engine to repair a locus's dominant allele against everything known
to be wrong with it: the contract's examples (with their outputs) and the inputs
the fitness journal recorded as failures. The first candidate that passes them
all is registered, taken through the lifecycle, and promoted where the locus's
risk allows; otherwise it waits as a pending promotion for review.

Generation from the contract alone is `sggit.app.generate`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sggit.app.promotion import Promotion, Written, write_promotion
from sggit.contract import nodes as n
from sggit.engines.base import Case, Engine, MutationContext, NoEngine, Proposal
from sggit.errors import UsageError
from sggit.genes import source_problems
from sggit.genome.alleles import alleles_at
from sggit.genome.said import failure_detail
from sggit.runtime import lifecycle, regression
from sggit.runtime.conformance import clean_host_examples
from sggit.runtime.evaluate import SandboxEvaluator, focus
from sggit.runtime.organism import Organism
from sggit.runtime.safety import policy_for

MAX_RECORDED_FAILURES = 10


@dataclass
class Tried:
    """One candidate heal looked at."""

    engine: str
    note: str | None
    passed: int
    total: int
    allele: str | None = None
    first_error: str | None = None


@dataclass
class HealReport:
    locus: str
    phenotype: str
    parent: str | None
    cases: int
    tried: list[Tried] = field(default_factory=list)
    winner: str | None = None
    state: str | None = None
    promotion: Written | None = None
    already_healthy: bool = False
    events: list[str] = field(default_factory=list)
    """What the winner's passage through the lifecycle did, in order, before its promotion."""
    notes: list[str] = field(default_factory=list)
    """What is left to do after it (a review the locus's risk asks for)."""

    @property
    def healed(self) -> bool:
        return self.winner is not None or self.already_healthy

    def lines(self) -> list[str]:
        out = [f"heal {self.locus} on {self.phenotype}: parent {self.parent[:12] if self.parent else 'none'}, {self.cases} case(s)"]
        if self.already_healthy:
            out.append("  the dominant allele already passes every case: nothing to heal")
        for i, t in enumerate(self.tried, 1):
            mark = "PASS" if t.passed == t.total else "fail"
            name = f"candidate {t.allele[:12]}" if t.allele else "candidate (not registered)"
            out.append(f"  {i}. {t.engine} {name} {t.passed}/{t.total} {mark}")
            if t.note:
                out.append(f"     {t.note}")
            if t.first_error and t.passed < t.total:
                out.append(f"     first failure: {failure_detail(t.first_error)}")
        out.extend(f"  * {e}" for e in self.events)  # the winner's passage, which comes before its promotion
        if self.winner:
            out.append(f"  winner {self.winner[:12]} is now {self.state}")
        elif not self.already_healthy:
            out.append("  no candidate passed every case within the budget")
        if self.promotion is not None:
            w = self.promotion
            out.append(f"  {w.title}: branch {w.branch} at {w.commit[:12]}" + (" (fast-forwarded)" if w.fast_forwarded else " (waits for review)"))
        out.extend(f"  * {e}" for e in self.notes)
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "locus": self.locus, "phenotype": self.phenotype, "parent": self.parent, "cases": self.cases,
            "winner": self.winner, "state": self.state, "already_healthy": self.already_healthy,
            "tried": [t.__dict__ for t in self.tried],
            "promotion": None if self.promotion is None else {"branch": self.promotion.branch, "commit": self.promotion.commit, "fast_forwarded": self.promotion.fast_forwarded},
        }


def recorded_failures(organism: Organism, locus: str, limit: int = MAX_RECORDED_FAILURES) -> list[tuple[dict[str, Any], str]]:
    """Distinct (input, error) pairs of this locus's recorded failures, newest first.

    The full record, so `sggit sync` never hides a case; immediate and convergence
    failures alike.
    """
    failures = sorted(regression.locus_failures(organism, locus), key=lambda f: f.time, reverse=True)
    seen: set[str] = set()
    out: list[tuple[dict[str, Any], str]] = []
    for f in failures:
        if not isinstance(f.input, dict):
            continue
        key = json.dumps(f.input, sort_keys=True, default=str)
        if key not in seen and len(out) < limit:
            seen.add(key)
            out.append((f.input, f.error if f.timescale == "immediate" else f"convergence: {f.error}"))
    return out


def heal_cases(gene: n.Gene, failures: list[tuple[dict[str, Any], str]]) -> list[Case]:
    cases = regression.example_cases(gene)
    known = {json.dumps(c.input, sort_keys=True, default=str) for c in cases}
    for inp, _ in failures:
        if json.dumps(inp, sort_keys=True, default=str) not in known:
            cases.append(Case(input=inp, expected=None, kind="failing"))
    return cases


def _gene(organism: Organism, locus: str) -> n.Gene:
    gene = organism.tree.genes.get(locus)
    if gene is None:
        raise UsageError(f"unknown locus {locus}", hint=f"known: {', '.join(sorted(organism.tree.genes))}")
    return gene


def heal(organism: Organism, locus: str, engine: Engine, *, rounds: int = 3, count: int = 1) -> HealReport:
    gene = _gene(organism, locus)
    if isinstance(engine, NoEngine):
        raise UsageError("heal needs a mutation engine", hint="choose --engine auto, gp, anthropic or fixture")
    entry = organism.phenotype().locus(locus)
    parent = entry.dominant or (entry.stack[0] if entry.stack else None) or next(iter(alleles_at(organism.genome, locus)), None)
    judge = SandboxEvaluator(
        organism.pool, lifecycle.shadow_kernels(organism), gene=gene, timeout=min(organism.timeout, 2.0),
        fresh_factory=lifecycle.fresh_kernels(organism),
    )
    _, keep = regression.classify_failures(organism, gene, parent, judge)
    declared = {json.dumps(c.input, sort_keys=True, default=str) for c in keep}
    failures = [(i, e) for i, e in recorded_failures(organism, locus) if json.dumps(i, sort_keys=True, default=str) not in declared]
    cases = heal_cases(gene, failures)
    report = HealReport(locus=locus, phenotype=organism.phenotype_name, parent=parent, cases=len(cases))
    if not cases:
        raise UsageError(f"nothing to heal {locus} against: its contract has no examples and no failure is recorded",
                         hint="add `examples:` to the contract, or run it until it fails")
    if parent is not None:
        base = judge.evaluate([organism.source(parent)], cases)[0]
        if base.passed == base.total:
            report.already_healthy = True
            return report
        first_error = next((e for e in base.errors if e), "failed")
    else:
        first_error = "no allele is expressed"
    cases = cases + regression.guard_cases(organism, gene, parent, cases, judge, keep=keep)
    report.cases = len(cases)
    failing_input = failures[0][0] if failures else cases[0].input
    brief = organism.brief(gene)
    context = MutationContext(
        contract=brief,
        parent=parent,
        parent_source=organism.source(parent) if parent else None,
        failing_input=failing_input,
        error=failures[0][1] if failures else first_error,
        siblings={a: organism.source(a) for a in alleles_at(organism.genome, locus)[:8] if a != parent},
    )
    winner: tuple[str, Proposal] | None = None
    for _ in range(max(1, rounds)):
        with focus(gene):
            proposals = engine.propose(context, count=count)
        if not proposals:
            break
        for proposal in proposals:
            problems = source_problems(proposal.source)
            if problems:
                report.tried.append(Tried(engine=proposal.engine, note=f"invalid: {problems[0]}", passed=0, total=len(cases)))
                continue
            result = judge.evaluate([proposal.source], cases)[0]
            tried = Tried(engine=proposal.engine, note=proposal.note, passed=result.passed, total=result.total,
                          first_error=next((e for e in result.errors if e), None))
            report.tried.append(tried)
            if result.passed == result.total:
                tried.allele = organism.register_mutant(gene, proposal, context, parent)
                winner = (tried.allele, proposal)
                break
        if winner:
            break
    if winner is None:
        return report
    allele = winner[0]
    # The canary is a real run: an example's input is one the contract says must work here.
    clean = clean_host_examples(gene)
    data = organism.validate_input(gene, clean[0].input if clean else failing_input)
    passage = lifecycle.admit(organism, gene, allele, data, cases=cases, keep_canary=False)
    report.events.extend(passage.events)
    report.state = passage.state
    if passage.passed:
        report.winner = allele
        promotion = Promotion(phenotype=organism.phenotype_name, locus=locus, allele=allele, old=parent, reason="heal", risk=gene.risk)
        report.promotion = write_promotion(organism.genome, promotion, auto=True)
        if report.promotion.fast_forwarded:
            report.state = "dominant"
        elif not policy_for(gene.risk).auto_promote:
            report.notes.append(f"{locus} is {gene.risk or 'high'} risk: merge {report.promotion.branch} after review")
    return report
