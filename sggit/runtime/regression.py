"""The regression set a candidate allele must pass before it may replace its parent.

Passing the failing cases is not enough: a repair that turns the gene's own
check into a tautology passes them too. So a candidate must also pass the
contract's examples, agree with its parent on a bounded sample of inputs the
parent handled successfully (kept in the fitness notes, so it travels with the
genome), and keep the parent's declared failures: a `success: false` the parent
recorded for a `fails when` condition must still come out false.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sggit.contract import nodes as n
from sggit.engines.base import Case
from sggit.genome.fitness import Counters, LastFailure
from sggit.genome.said import GENE_FAILURE
from sggit.runtime.conformance import clean_host_examples

if TYPE_CHECKING:
    from sggit.runtime.attempt import Expression
    from sggit.runtime.evaluate import SandboxEvaluator

MAX_AGREEMENT = 8
_WORD = re.compile(r"[a-z0-9]+")
_NOISE = frozenset({"a", "an", "the", "is", "of", "to", "for", "with", "on", "in", "or", "and"})


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def declared_failure(gene: n.Gene, error: str | None) -> str | None:
    """The `fails when` condition a reported failure matches, if any.

    Conditions are prose ("bridge not found"); a gene's error matches when it
    holds every significant word of one ("bridge br0 not found").
    """
    if not error or GENE_FAILURE not in error:
        return None
    words = set(_WORD.findall(error.lower()))
    for mode in gene.fails_when:
        needed = set(_WORD.findall(mode.condition.lower())) - _NOISE
        if needed and needed <= words:
            return mode.condition
    return None


def example_cases(gene: n.Gene) -> list[Case]:
    """The examples a replay on a clean host can judge: those declaring a host state are conformance's."""
    return [Case(input=e.input, expected=e.output, kind="example") for e in clean_host_examples(gene)]


def failing_cases(gene: n.Gene, failures: Iterable[LastFailure]) -> tuple[list[Case], list[Case]]:
    """(cases to repair, declared failures to keep) from recorded failures, newest first, distinct inputs."""
    repair: list[Case] = []
    keep: list[Case] = []
    seen: set[str] = set()
    for f in sorted(failures, key=lambda f: f.time, reverse=True):
        if not isinstance(f.input, dict) or _key(f.input) in seen:
            continue
        seen.add(_key(f.input))
        if declared_failure(gene, f.error) is not None:
            keep.append(Case(input=f.input, expected={"success": False}, kind="declared-failure"))
        else:
            repair.append(Case(input=f.input, expected=None, kind="failing"))
    return repair, keep


def agreement_inputs(parent: Counters | None, exclude: Iterable[dict[str, Any]] = (), limit: int = MAX_AGREEMENT) -> list[dict[str, Any]]:
    """The newest distinct inputs the parent handled successfully, not already among the other cases."""
    if parent is None:
        return []
    skip = {_key(x) for x in exclude}
    out: list[dict[str, Any]] = []
    for sample in reversed(parent.accepted):
        if isinstance(sample.input, dict) and _key(sample.input) not in skip and len(out) < limit:
            skip.add(_key(sample.input))
            out.append(sample.input)
    return out


def agreement_cases(inputs: Iterable[dict[str, Any]], parent_output: Callable[[dict[str, Any]], Any]) -> list[Case]:
    """Cases holding a candidate to its parent's output; `parent_output(input)` is None where the parent fails now."""
    cases: list[Case] = []
    for data in inputs:
        output = parent_output(data)
        if isinstance(output, dict):
            cases.append(Case(input=data, expected=output, kind="agreement"))
    return cases


def locus_failures(organism: Expression, locus: str) -> list[LastFailure]:
    """Every recorded failure of the locus's alleles: all hosts' synced notes plus this host's journal."""
    return [f for c in organism.counters(locus).values() for f in c.failures]


def classify_failures(organism: Expression, gene: n.Gene, parent: str | None, judge: SandboxEvaluator) -> tuple[list[Case], list[Case]]:
    """(failures to repair, declared failures to keep) among the locus's recorded failures.

    A recorded `success: false` that matches a `fails when` condition is kept as a
    guard only when another reviewed allele of the locus also reports failure on
    it now: a buggy parent that falsely claims "bridge already exists" must be
    repaired, not imitated.
    """
    from sggit.runtime import review

    repair, maybe = failing_cases(gene, locus_failures(organism, gene.name))
    if not maybe:
        return repair, []
    entry = organism.phenotype().locus(gene.name)
    others = [a for a in entry.alleles if a != parent and entry.alleles[a].state in ("dominant", "recessive", "deprecated")]
    witnesses = sorted(review.reviewed(organism.genome, organism.phenotype_name, gene.name, others))
    keep: list[Case] = []
    for case in maybe:
        confirmed = any(
            (found := judge.outcome_of(gene, organism.source(w), case.input)) is not None and found[1].get("success") is False
            for w in witnesses
        )
        (keep if confirmed else repair).append(case if confirmed else Case(input=case.input, expected=None, kind="failing"))
    return repair, keep


def guard_cases(organism: Expression, gene: n.Gene, parent: str | None, cases: list[Case], judge: SandboxEvaluator,
                keep: list[Case] | None = None) -> list[Case]:
    """What a repair must not break: the parent's declared failures, and agreement with it on its accepted inputs."""
    if parent is None:
        return []
    if keep is None:
        _, keep = classify_failures(organism, gene, parent, judge)
    taken = [c.input for c in cases]
    keep = [c for c in keep if c.input not in taken]
    source = organism.source(parent)
    inputs = agreement_inputs(organism.counters(gene.name).get(parent), exclude=taken + [c.input for c in keep])
    return keep + agreement_cases(inputs, lambda data: judge.output_of(gene, source, data))
