"""The organism's scorer: journal records, live fitness, and the arena's demotions and promotions.

Fitness is read once per organism (every host's counters plus the unsynced
journal) and then kept current in memory as records are appended, so a call
costs the same on a genome with a long history. A diagnostic's verdict is routed
through its `feeds:` to the allele that produced the state it looked at.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sggit.contract import nodes as n
from sggit.contract.tree import ContractTree
from sggit.genome import phenostore
from sggit.genome.fitness import ByLocus, Counters, Record, add_into, fitness, fold, locus_key
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from sggit.genome.sync import host_streak, journal, live_counters, pending_records
from sggit.runtime import review
from sggit.runtime.arena import (
    Challengers,
    FailureStreaks,
    Thresholds,
    failure_streaks,
)
from sggit.runtime.attempt import Attempt
from sggit.runtime.safety import policy_for
from sggit.runtime.temporal import ProducerIndex, object_names

_T = TypeVar("_T")


@dataclass
class Held:
    """What a tentative poll would have recorded: it counts only once committed."""

    records: list[Record] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    decisions: list[Callable[[], None]] = field(default_factory=list)
    """Phenotype changes (demotion, promotion, reinstatement) the poll's outcomes would make."""


class Scoring:
    def __init__(self, genome: Genome, tree: ContractTree, phenotype_name: str, phenotype: Callable[[], PhenotypeMap], events: list[str]) -> None:
        self.genome = genome
        self.tree = tree
        self.phenotype_name = phenotype_name
        self.phenotype = phenotype
        self.events = events
        self.producers = ProducerIndex(genome, phenotype_name)
        self._journal = journal(genome)
        self._lock = threading.RLock()
        self._counters: ByLocus | None = None
        self._streaks: FailureStreaks | None = None
        self._challengers: dict[str, tuple[PhenotypeMap, Challengers]] = {}
        self._local = threading.local()

    def close(self) -> None:
        self._journal.close()

    # -- held-back polls ---------------------------------------------------------------
    def tentatively(self, work: Callable[[], _T]) -> tuple[_T, Callable[[], None]]:
        """Run `work` holding back its records, demotions and feed events; they count only once committed.

        A verify window is polled (sggit.runtime.deadline): a poll that decides
        nothing must not score a producer as failing while the host settles.
        """
        self._local.tentative = held = Held()
        try:
            value = work()
        finally:
            self._local.tentative = None

        def commit() -> None:
            for record in held.records:
                self.append(record)
            self.events.extend(held.events)
            for decide in held.decisions:
                decide()

        return value, commit

    def decide(self, change: Callable[[], None]) -> None:
        """Make a phenotype change now, or, inside a tentative poll, only if the poll is committed."""
        held = getattr(self._local, "tentative", None)
        if held is not None:
            held.decisions.append(change)
        else:
            change()

    def holding(self) -> bool:
        """True inside a tentative poll on this thread: nothing it decides may change the genome yet."""
        return getattr(self._local, "tentative", None) is not None

    def _event(self, message: str) -> None:
        held = getattr(self._local, "tentative", None)
        (held.events if held is not None else self.events).append(message)

    # -- records -----------------------------------------------------------------------
    def append(self, record: Record) -> None:
        """Journal a record (naming the phenotype it was expressed under), and keep this organism's view of
        fitness current without rereading. The scorer's own records name it when made: a copy costs as
        much as making one."""
        if record.phenotype is None:
            record = record.model_copy(update={"phenotype": self.phenotype_name})
        held = getattr(self._local, "tentative", None)
        if held is not None:
            held.records.append(record)
            return
        self._journal.append(record)
        with self._lock:
            if self._counters is not None:
                add_into(self._counters, fold([record], self.genome.host))
                kept = self._challengers.get(locus_key(record.locus))
                if kept is not None:
                    kept[1].moved(self._counters[locus_key(record.locus)], (record.allele,))
            if self._streaks is not None:
                self._streaks.add(record)

    def counters(self, locus: str) -> dict[str, Counters]:
        """Fitness counters of every allele at a locus: all read once (all hosts plus the unsynced journal), then kept."""
        with self._lock:
            if self._counters is None:
                self._counters = live_counters(self.genome)
            return self._counters.setdefault(locus, {})

    def streak(self, locus: str, allele: str) -> int:
        """Consecutive failures of (locus, allele) since its last success, as this host saw them."""
        with self._lock:
            if self._streaks is None:
                self._streaks = failure_streaks(pending_records(self.genome), base=lambda lo, a: host_streak(self.genome, lo, a))
            return self._streaks.get(locus, allele, 0)

    def score(self, gene: n.Gene, attempt: Attempt, data: dict[str, Any]) -> None:
        """Immediate and convergence records for the allele that ran; a diagnostic also scores the producers it feeds."""
        immediate_ok = attempt.ok or attempt.kind == "convergence"
        self.append(Record(allele=attempt.allele, locus=gene.name, ok=immediate_ok, timescale="immediate", error=None if immediate_ok else attempt.error, input=data,
                           phenotype=self.phenotype_name))
        if attempt.convergence is not None:
            self.append(Record(allele=attempt.allele, locus=gene.name, ok=attempt.convergence, timescale="convergence", error=None if attempt.convergence else attempt.error,
                               input=data, phenotype=self.phenotype_name))
        if not attempt.ok or attempt.convergence is False:
            # A convergence failure counts however the verify ran: in this call, from a due check, or fed later.
            self.consider_demotion(gene.name, attempt.allele)
        if not attempt.ok:
            return
        if gene.family == "configuration":
            self.producers.record(gene.name, data, attempt.allele)
        elif gene.feeds and isinstance(attempt.output, dict):
            self.feed(gene, data, bool(attempt.output.get("healthy", True)))

    # -- feeds -------------------------------------------------------------------------
    @contextmanager
    def judging(self, judged: set[str] | None, timescale: str | None, charge: set[str] | frozenset[str] | None = None) -> Iterator[None]:
        """Within the block, diagnostics do not feed `judged` loci, and feed as `timescale` when given.

        `charge`, when given, is the loci whose change the checks judge: only their
        producers are fed. A check after one gene's change must not blame the
        producers of what that change left alone.
        """
        previous = (getattr(self._local, "judged", None), getattr(self._local, "timescale", None), getattr(self._local, "charge", None))
        self._local.judged, self._local.timescale = frozenset(judged or ()), timescale
        self._local.charge = frozenset(charge) if charge is not None else None
        try:
            yield
        finally:
            self._local.judged, self._local.timescale, self._local.charge = previous

    def judged(self) -> frozenset[str] | None:
        """The loci a verify check in progress on this thread judges itself (None outside checks)."""
        return getattr(self._local, "judged", None)

    def feed(self, gene: n.Gene, data: dict[str, Any], healthy: bool) -> list[tuple[str, str, str]]:
        """Route a diagnostic's verdict to the allele that produced the state at each fed locus.

        A failure here is retroactive: the producer's immediate result was a
        success, yet its fitness drops and the arena may demote it.
        """
        names = object_names(data)
        judged = self.judged() or frozenset()
        override = getattr(self._local, "timescale", None)
        charge = getattr(self._local, "charge", None)
        fed: list[tuple[str, str, str]] = []
        if not names:
            return fed
        for line in gene.feeds:
            timescale = override or line.timescale
            if line.locus in judged or (charge is not None and line.locus not in charge) or timescale not in ("convergence", "resilience"):
                continue
            producer = self.producers.find(line.locus, names)
            if producer is None:
                continue
            allele = producer.allele
            error = None if healthy else f"{gene.name} {json.dumps(data, sort_keys=True)}: unhealthy"
            self.append(Record(allele=allele, locus=line.locus, ok=healthy, timescale=timescale, error=error, input=data,  # type: ignore[arg-type]
                               case=producer.input, phenotype=self.phenotype_name))
            fed.append((line.locus, allele, timescale))
            if not healthy:
                self._event(f"{gene.name} on {', '.join(names)} unhealthy: {timescale} failure for {line.locus} {allele[:7]}")
                self.consider_demotion(line.locus, allele)
        return fed

    # -- selection ---------------------------------------------------------------------
    def consider_demotion(self, locus: str, allele: str) -> None:
        if self.holding():
            self.decide(lambda: self.consider_demotion(locus, allele))
            return
        pmap = self.phenotype()
        entry = pmap.locus(locus)
        state = entry.alleles.get(allele)
        if state is None or state.state not in ("dominant", "recessive"):
            return
        if state.state == "dominant" and len(entry.stack) < 2:
            return  # nothing to fall back to: keep it expressed and let mutation find a successor
        if self.streak(locus, allele) < Thresholds.for_locus(pmap, locus).demote_after:
            return
        successor = None
        if state.state == "dominant" and policy_for(self.tree.genes[locus].risk).review:
            successor = self.reviewed_successor(locus, allele)
            if successor is None:
                self.events.append(f"kept {locus} {allele[:7]} dominant after repeated failures: no reviewed allele can take over")
                return
        if phenostore.demote(self.genome, self.phenotype_name, locus, allele, successor=successor):
            self.events.append(f"demoted {locus} {allele[:7]} after repeated failures"
                               + (f"; reviewed {successor[:7]} leads" if successor else ""))

    def reviewed_successor(self, locus: str, leaving: str) -> str | None:
        """The fittest other stack allele with a reviewed history: the only kind that may lead a high-risk locus."""
        entry = self.phenotype().locus(locus)
        candidates = [a for a in entry.stack if a != leaving]
        approved = review.reviewed(self.genome, self.phenotype_name, locus, candidates)
        if not approved:
            return None
        counters = self.counters(locus)
        return max((a for a in candidates if a in approved), key=lambda a: fitness(counters[a], entry.weights) if a in counters else 0.0)

    def consider_promotion(self, locus: str) -> None:
        """After a success: the leading challenger takes over if it is fitter by the margin.

        Only the alleles whose counters moved since the last check are rescored
        (`Challengers`), so a check after each success stays cheap at a locus of
        1,000 alleles.
        """
        if self.holding():
            self.decide(lambda: self.consider_promotion(locus))
            return
        pmap = self.phenotype()
        entry = pmap.locus(locus)
        gene = self.tree.genes[locus]
        if not policy_for(gene.risk).auto_promote:
            return
        if not entry.stack or entry.stack == [entry.dominant]:
            return  # no challengers
        with self._lock:
            counters = self.counters(locus)
            kept = self._challengers.get(locus)
            if kept is None or kept[0] is not pmap:
                kept = self._challengers[locus] = (pmap, Challengers(entry, Thresholds.for_locus(pmap, locus), counters))
            found = kept[1].candidate(counters)
        if found is None:
            return
        allele, score, base = found
        if phenostore.promote(self.genome, self.phenotype_name, locus, allele, fitness=score):
            self.events.append(f"promoted {locus} {allele[:7]} (fitness {score:.2f} over {base:.2f})")
