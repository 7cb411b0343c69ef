"""Scoring and selection: when an allele is demoted, when one earns dominance.

The numbers come from the fitness journal and notes (sggit.genome.fitness holds the
one formula); the thresholds are settings per locus or phenotype, defaulting to
the paradigm's: promote at +0.1 over the dominant with at least 50 invocations,
demote after 3 consecutive failures, and re-express up to 3 idle alleles
before any mutation engine is asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from sggit.genome.fitness import Counters, Record, StreakState, fitness, locus_key, next_streak
from sggit.genome.phenotype import LocusMap, PhenotypeMap, Weights


class Thresholds(BaseModel):
    promote_margin: float = 0.1
    promote_min_invocations: int = 50
    demote_after: int = 3
    reexpress: int = 3
    """How many alleles outside the stack (deprecated, or registered but never expressed) are tried, most fit
    first, before a mutation engine is asked; 0 turns re-expression off."""

    @classmethod
    def for_locus(cls, pmap: PhenotypeMap | None, locus: str) -> Thresholds:
        """Phenotype `[settings]` first, then `[settings.<locus>]` overrides."""
        values: dict[str, Any] = {}
        if pmap is not None:
            for key in cls.model_fields:
                if key in pmap.settings and not isinstance(pmap.settings[key], dict):
                    values[key] = pmap.settings[key]
            specific = pmap.settings.get(locus)
            if isinstance(specific, dict):
                values.update({k: v for k, v in specific.items() if k in cls.model_fields})
        from sggit.errors import SggitError
        from sggit.runtime.settings import problem

        for key, value in values.items():
            said = problem(key, value)
            if said is not None:
                raise SggitError(f"phenotype {pmap.name if pmap else '?'}: {said}", hint="fix it in the phenotype's file and run `sggit init` again")
        return cls.model_validate(values)


Base = Callable[[str, str], StreakState]
"""(locus, allele) -> the pair's streak as this host's synced notes hold it."""


class FailureStreaks:
    """Per (locus, allele), failed invocations since its last good one; immediate and convergence outcomes count.

    Each pair starts from `base` (its streak in this host's synced notes), so a
    `sggit sync` between two failures changes no decision; `next_streak` holds
    the rule, including a convergence failure taking back the success before it.
    The same blob at another locus has a streak of its own.
    """

    def __init__(self, records: Iterable[Record] = (), base: Base | None = None) -> None:
        self._base = base or (lambda locus, allele: (0, None))
        self._state: dict[tuple[str, str], StreakState] = {}
        for rec in records:
            self.add(rec)

    def add(self, rec: Record) -> None:
        key = (locus_key(rec.locus), rec.allele)
        if key not in self._state:
            self._state[key] = self._base(*key)
        self._state[key] = next_streak(self._state[key], rec)

    def get(self, locus: str, allele: str, default: int = 0) -> int:
        key = (locus, allele)
        if key not in self._state:
            self._state[key] = self._base(*key)
        return self._state[key][0] or default


def failure_streaks(records: Iterable[Record], base: Base | None = None) -> FailureStreaks:
    return FailureStreaks(records, base)


def promotion_candidate(
    counters: Mapping[str, Counters],
    dominant: str | None,
    challengers: Iterable[str],
    thresholds: Thresholds,
    weights: Weights | None = None,
) -> tuple[str, float, float] | None:
    """The best challenger that beats the dominant by the margin with enough trials, if any."""
    base = fitness(counters[dominant], weights) if dominant and dominant in counters else 0.0
    best: tuple[str, float, float] | None = None
    for allele in challengers:
        c = counters.get(allele)
        if c is None or c.total < thresholds.promote_min_invocations:
            continue
        score = fitness(c, weights)
        if score >= base + thresholds.promote_margin - 1e-12 and (best is None or score > best[1]):
            best = (allele, score, base)
    return best


class Challengers:
    """The challenger `promotion_candidate` would weigh against the dominant of one locus, kept as counters move.

    Scoring every challenger after every success costs as many fitness
    computations as the stack has alleles. This index is built for one map (its
    stack, thresholds and weights) from the counters at hand, then told which
    alleles' counters moved, and rescores only those. It keeps the score of each
    challenger with the invocations promotion needs and the leader among them: the
    highest score, the earlier in the stack on a tie. Promotion weighs the leader
    alone, which is the same decision: a challenger the leader does not outscore
    cannot pass the margin the leader misses.
    """

    def __init__(self, entry: LocusMap, thresholds: Thresholds, counters: Mapping[str, Counters]) -> None:
        self.entry = entry
        self.thresholds = thresholds
        self._scores: dict[str, float] = {}
        self._leader: str | None = None
        self._position: dict[str, int] | None = None
        self.moved(counters, list(counters))

    def moved(self, counters: Mapping[str, Counters], alleles: Iterable[str]) -> None:
        """Rescore `alleles`, whose counters changed; nothing else is looked at."""
        alleles_at, least, weights = self.entry.alleles, self.thresholds.promote_min_invocations, self.entry.weights
        for allele in alleles:
            state = alleles_at.get(allele)
            c = counters.get(allele)
            # the stack's members other than its dominant are exactly its recessive alleles (LocusMap's invariant)
            if state is None or state.state != "recessive" or c is None or c.total < least:
                if self._scores.pop(allele, None) is not None and allele == self._leader:
                    self._leader = self._fittest()
                continue
            before = self._scores.get(allele)
            score = self._scores[allele] = fitness(c, weights)
            leader = self._leader
            if leader is None or self._ahead(allele, leader):
                self._leader = allele
            elif allele == leader and before is not None and score < before:
                self._leader = self._fittest()

    def _ahead(self, allele: str, other: str) -> bool:
        mine, theirs = self._scores[allele], self._scores[other]
        return mine > theirs or (mine == theirs and self._place(allele) < self._place(other))

    def _place(self, allele: str) -> int:
        if self._position is None:
            stack = self.entry.stack
            self._position = dict(zip(stack, range(len(stack)), strict=True))
        return self._position[allele]

    def _fittest(self) -> str | None:
        best: str | None = None
        for allele in self._scores:
            if best is None or self._ahead(allele, best):
                best = allele
        return best

    def candidate(self, counters: Mapping[str, Counters]) -> tuple[str, float, float] | None:
        """What `promotion_candidate` answers for the whole stack: the leader, if it beats the dominant by the margin."""
        leader = self._leader
        return promotion_candidate(counters, self.entry.dominant, [leader] if leader else [], self.thresholds, self.entry.weights)
