"""The genetic-programming engine: repair the failing allele by searching over AST edits.

Search in two phases, both judged by the Evaluator in batches:

1. a systematic sweep: the cheap single edits of the parent (comparisons,
   constants, names...), then the cheap edits on top of the best partial repairs
   found so far (a climb: two-edit bugs are usually one partial fix plus one more),
   then the structural single edits; capped at a share of the budget. Most real
   bugs are one or two edits away, and a sweep finds those with no luck involved;
2. a steady-state genetic search seeded with the fittest candidates (neutral
   ones included: they are stepping stones), breeding by tournament selection,
   mutation (add, drop or replace an edit) and one-point crossover of edit lists.

Every winner is minimised (an edit whose removal leaves the outcome unchanged is
dropped) and winners are ranked smallest first, because the smaller of two
equally fit patches is less likely to overfit the cases.
"""

from __future__ import annotations

import ast
import difflib
import time
import warnings
from dataclasses import dataclass
from random import Random

from sggit.engines.base import Case, Engine, Evaluation, Evaluator, MutationContext, Proposal
from sggit.engines.gp.cases import cases_for
from sggit.engines.gp.edits import (
    ALL_OPS, PAYLOAD_OPS, TIERS, Edit, Pools, apply_edit, apply_edits, build_pools, collect_slots, edits_for, imports_of,
)
from sggit.genes import ENTRY_POINT


@dataclass
class Candidate:
    edits: tuple[Edit, ...]
    source: str
    order: int
    evaluation: Evaluation | None = None

    @property
    def fitness(self) -> int:
        return self.evaluation.passed if self.evaluation else -1

    @property
    def results(self) -> tuple[bool, ...]:
        return tuple(self.evaluation.results) if self.evaluation else ()


@dataclass
class SearchStats:
    """What the last `propose` did; the benchmarks read it."""

    evaluated: int = 0
    generated: int = 0
    seconds: float = 0.0
    phase: str = ""
    winners: int = 0
    parent_score: tuple[int, int] = (0, 0)


def patch_size(parent: str, child: str) -> int:
    """Characters changed between two unparsed sources: the tie-breaker between equal patches."""
    matcher = difflib.SequenceMatcher(None, parent, child, autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")


class _Run:
    """One propose call: the parent, the cases, the budget and everything seen so far."""

    def __init__(self, engine: GPEngine, context: MutationContext, cases: list[Case]) -> None:
        self.engine = engine
        self.cases = cases
        assert context.parent_source is not None
        parent_tree = ast.parse(context.parent_source)
        self.parent_source = ast.unparse(parent_tree)
        self.pools: Pools = build_pools(parent_tree, [context.siblings[k] for k in sorted(context.siblings)])
        self.imports = imports_of(parent_tree)
        self.rng = Random(engine.seed)
        self.seen: set[str] = {self.parent_source}
        self.order = 0
        self.deadline = time.monotonic() + engine.max_seconds
        self.stats = SearchStats()
        self.winners: list[Candidate] = []

    # --- budget and building ------------------------------------------------------------------

    def exhausted(self) -> bool:
        return self.stats.evaluated >= self.engine.max_candidates or time.monotonic() >= self.deadline

    def build(self, edits: tuple[Edit, ...]) -> Candidate | None:
        """A new, valid, never-seen candidate from these edits, or None."""
        tree, applied = apply_edits(self.parent_source, edits, self.pools)
        return self.finish(tree, applied)

    def finish(self, tree: ast.Module, applied: list[Edit]) -> Candidate | None:
        self.stats.generated += 1
        try:
            source = ast.unparse(tree)
        except (ValueError, TypeError, AttributeError, RecursionError):
            return None
        if not applied or source in self.seen:
            return None
        self.seen.add(source)
        if not self._valid(tree, source, applied):
            return None
        self.order += 1
        return Candidate(tuple(applied), source, self.order)

    def _valid(self, tree: ast.Module, source: str, applied: list[Edit]) -> bool:
        """Compiles, still defines the entry point, imports nothing the parent does not."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile(source, "<candidate>", "exec")
        except (SyntaxError, ValueError):
            return False
        if not any(isinstance(n, ast.FunctionDef) and n.name == ENTRY_POINT for n in tree.body):
            return False
        return not any(e.op in PAYLOAD_OPS for e in applied) or imports_of(tree) <= self.imports

    def evaluate(self, batch: list[Candidate]) -> None:
        if not batch:
            return
        evaluations = self.engine.evaluator.evaluate([c.source for c in batch], self.cases)
        self.stats.evaluated += len(batch)
        for cand, ev in zip(batch, evaluations):
            cand.evaluation = ev
            if ev.total and ev.passed == ev.total:
                self.winners.append(cand)

    # --- phase 1: the single-edit neighbourhood -----------------------------------------------

    def neighbourhood(self, prefix: tuple[Edit, ...] = (), tiers: tuple[tuple[str, ...], ...] = TIERS) -> list[Edit]:
        """Every single edit on top of `prefix`, cheapest tier first, shuffled within a tier."""
        tree, _ = apply_edits(self.parent_source, prefix, self.pools)
        slots = collect_slots(tree, self.pools)
        ordered: list[Edit] = []
        for tier in tiers:
            edits = [e for op in tier for e in edits_for(op, slots, self.pools)]
            self.rng.shuffle(edits)
            ordered.extend(edits)
        return ordered

    def _sweep(self, prefix: tuple[Edit, ...], edits: list[Edit], cap: int, count: int) -> list[Candidate]:
        pending: list[Candidate] = []
        done: list[Candidate] = []
        for edit in edits:
            if self.stats.evaluated + len(pending) >= cap or self.exhausted():
                break
            cand = self.build(prefix + (edit,))
            if cand is None:
                continue
            pending.append(cand)
            if len(pending) >= self.engine.batch:
                self.evaluate(pending)
                done.extend(pending)
                pending = []
                if len(self.winners) >= count:
                    return done
        self.evaluate(pending)
        return done + pending

    def sweep(self, count: int, base_fitness: int) -> list[Candidate]:
        """Cheap edits on the parent, then cheap edits on the best partial repairs, then the rest."""
        self.stats.phase = "sweep"
        budget = self.engine.max_candidates
        cap = int(budget * self.engine.sweep_share)
        done = self._sweep((), self.neighbourhood((), TIERS[:1]), cap, count)
        if len(self.winners) >= count:
            return done
        improving = sorted((c for c in done if c.fitness > base_fitness), key=self._rank)[: self.engine.climb]
        climb_cap = min(cap, self.stats.evaluated + int(budget * self.engine.climb_share))
        for partial in improving:
            self.stats.phase = "climb"
            done += self._sweep(partial.edits, self.neighbourhood(partial.edits, TIERS[:1]), climb_cap, count)
            if len(self.winners) >= count:
                return done
        self.stats.phase = "sweep"
        done += self._sweep((), self.neighbourhood((), TIERS[1:]), cap, count)
        return done

    # --- phase 2: genetic search --------------------------------------------------------------

    @staticmethod
    def _rank(c: Candidate) -> tuple[int, int, int]:
        return (-c.fitness, len(c.edits), c.order)

    def _tournament(self, population: list[Candidate]) -> Candidate:
        picks = [population[self.rng.randrange(len(population))] for _ in range(self.engine.tournament)]
        return min(picks, key=self._rank)

    def _add_random_edit(self, tree: ast.Module, applied: list[Edit]) -> None:
        """Append one random applicable edit to a tree, in place."""
        slots = collect_slots(tree, self.pools)
        for _ in range(8):
            op = ALL_OPS[self.rng.randrange(len(ALL_OPS))]
            choices = edits_for(op, slots, self.pools)
            if choices:
                edit = choices[self.rng.randrange(len(choices))]
                if apply_edit(tree, edit, self.pools):
                    applied.append(edit)
                return

    def _offspring(self, population: list[Candidate]) -> Candidate | None:
        rng = self.rng
        first = self._tournament(population)
        if len(population) > 1 and rng.random() < self.engine.crossover_rate:
            second = self._tournament(population)
            cut_a = rng.randint(0, len(first.edits))
            cut_b = rng.randint(0, len(second.edits))
            child = tuple(dict.fromkeys(first.edits[:cut_a] + second.edits[cut_b:]))[: self.engine.max_edits]
            return self.build(child) if child else None
        edits = list(first.edits)
        roll = rng.random()
        if len(edits) > 1 and roll < 0.15:
            del edits[rng.randrange(len(edits))]
            return self.build(tuple(edits))
        if edits and (roll < 0.35 or len(edits) >= self.engine.max_edits):
            del edits[rng.randrange(len(edits))]
        tree, applied = apply_edits(self.parent_source, edits, self.pools)
        self._add_random_edit(tree, applied)
        return self.finish(tree, applied)

    def evolve(self, seeds: list[Candidate], base_fitness: int, count: int) -> None:
        self.stats.phase = "evolve"
        size = self.engine.population
        neutral = [c for c in seeds if c.fitness >= base_fitness]
        population = sorted(neutral, key=self._rank)[:size]
        if not population:
            population = [Candidate((), self.parent_source, 0, None)]
        while len(self.winners) < count and not self.exhausted():
            batch: list[Candidate] = []
            attempts = 0
            while len(batch) < self.engine.batch and attempts < self.engine.batch * 20:
                attempts += 1
                cand = self._offspring(population)
                if cand is not None:
                    batch.append(cand)
            if not batch:
                return
            self.evaluate(batch)
            population = sorted(population + batch, key=self._rank)[:size]

    # --- minimise and rank --------------------------------------------------------------------

    def minimise(self, winner: Candidate) -> Candidate:
        current = winner
        changed = True
        while changed and len(current.edits) > 1:
            changed = False
            for i in range(len(current.edits)):
                trial_edits = current.edits[:i] + current.edits[i + 1:]
                tree, applied = apply_edits(self.parent_source, trial_edits, self.pools)
                source = ast.unparse(tree)
                if not applied or not self._valid(tree, source, applied):
                    continue
                ev = self.engine.evaluator.evaluate([source], self.cases)[0]
                self.stats.evaluated += 1
                if tuple(ev.results) == current.results:
                    current = Candidate(tuple(applied), source, current.order, ev)
                    changed = True
                    break
        return current

    def ranked(self, count: int) -> list[Candidate]:
        minimal: dict[str, Candidate] = {}
        for winner in self.winners:
            small = self.minimise(winner)
            minimal.setdefault(small.source, small)
        ordered = sorted(
            minimal.values(),
            key=lambda c: (len(c.edits), patch_size(self.parent_source, c.source), c.order),
        )
        return ordered[:count]


class GPEngine(Engine):
    """Genetic programming over the allele's AST; needs no network, deterministic under a seed.

    Deterministic means: same seed, same context and an evaluator that answers the
    same way give the same proposals, as long as `max_seconds` does not cut the
    search short (the candidate budget is the bound to rely on for repeatability).
    """

    name = "gp"

    def __init__(
        self,
        evaluator: Evaluator,
        *,
        seed: int | None = None,
        max_candidates: int = 3000,
        max_seconds: float = 60.0,
        batch: int = 32,
        population: int = 40,
        max_edits: int = 4,
        crossover_rate: float = 0.3,
        tournament: int = 3,
        sweep_share: float = 0.6,
        climb: int = 2,
        climb_share: float = 0.25,
    ) -> None:
        self.evaluator = evaluator
        self.seed = seed
        self.max_candidates = max_candidates
        self.max_seconds = max_seconds
        self.batch = max(1, batch)
        self.population = population
        self.max_edits = max_edits
        self.crossover_rate = crossover_rate
        self.tournament = tournament
        self.sweep_share = sweep_share
        self.climb = climb
        self.climb_share = climb_share
        self.last_stats = SearchStats()

    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        started = time.monotonic()
        if not context.parent_source or count < 1:
            return []
        try:
            ast.parse(context.parent_source)
        except (SyntaxError, ValueError):
            return []
        cases = cases_for(context)
        if not cases:
            return []
        run = _Run(self, context, cases)
        self.last_stats = run.stats
        base = self.evaluator.evaluate([run.parent_source], cases)[0]
        run.stats.parent_score = (base.passed, base.total)
        if base.total and base.passed == base.total:
            run.stats.seconds = time.monotonic() - started
            return []
        swept = run.sweep(count, base.passed)
        if len(run.winners) < count:
            run.evolve(swept, base.passed, count)
        best = run.ranked(count)
        run.stats.winners = len(run.winners)
        run.stats.seconds = time.monotonic() - started
        return [
            Proposal(
                source=c.source,
                engine=self.name,
                note=f"gp seed={self.seed} edits: {', '.join(map(str, c.edits))}; "
                f"passes {c.fitness}/{len(cases)} cases (parent {base.passed})",
            )
            for c in best
        ]
