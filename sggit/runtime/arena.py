"""Scoring and selection: when an allele is demoted, when one earns dominance.

The numbers come from the fitness journal and notes (sggit.genome.fitness holds the
one formula); the thresholds are settings per locus or phenotype, defaulting to
the paradigm's: promote at +0.1 over the dominant with at least 50 invocations,
demote after 3 consecutive failures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from sggit.genome.fitness import Counters, Record, fitness
from sggit.genome.phenotype import PhenotypeMap, Weights


class Thresholds(BaseModel):
    promote_margin: float = 0.1
    promote_min_invocations: int = 50
    demote_after: int = 3

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
        return cls.model_validate(values)


def _next_streak(state: tuple[int, int | None], rec: Record) -> tuple[int, int | None]:
    """(streak, streak before the last immediate success if no convergence result judged it yet)."""
    streak, before_success = state
    if rec.timescale == "immediate" and rec.ok:
        return 0, streak
    if rec.ok:
        return 0, None
    if before_success is not None and rec.timescale == "convergence":
        return before_success + 1, None
    return streak + 1, None


class FailureStreaks:
    """Per allele, failed invocations since its last good one; immediate and convergence outcomes count.

    A convergence failure arrives after its invocation's immediate success (the
    same run's verify, a due check, a diagnostic fed later): it takes that
    success back instead of counting after the reset the success caused, so an
    allele that always "works" and never converges still reaches the threshold.
    """

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._state: dict[str, tuple[int, int | None]] = {}
        for rec in records:
            self.add(rec)

    def add(self, rec: Record) -> None:
        if rec.timescale != "resilience":
            self._state[rec.allele] = _next_streak(self._state.get(rec.allele, (0, None)), rec)

    def get(self, allele: str, default: int = 0) -> int:
        return self._state[allele][0] if allele in self._state else default


def failure_streaks(records: Iterable[Record]) -> FailureStreaks:
    return FailureStreaks(records)


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
