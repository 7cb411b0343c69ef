"""The genetic-programming engine: repair the failing allele by searching over AST edits.

The search, every candidate judged by the Evaluator with early stopping:

1. sweep the single edits of the parent, cheap operators first (comparisons,
   constants, names...), with a climb after the cheap tier (the cheap edits on top
   of the best partial repairs: two-edit bugs are usually a partial fix plus one);
2. pair edits systematically: the best partial repairs with every single edit
   (including edits on the nodes the first edit created, so "insert a statement,
   then fix a name in it" is a pair), edits on the same statement that each kept
   the parent's passing cases (a comparison and its constant), and the best
   partial repairs with each other;
3. a steady-state genetic search over edit lists seeded with the fittest so far.

Cases are judged parent-passing first, so a candidate that breaks what worked
stops at once and one that gets past them has kept the parent's behaviour; its
score (cases passed before the first failure) is its partial credit.

A winner is minimised (an edit whose removal leaves it winning is dropped) and
its cost measured against the parent's on the cases the parent passes: a repair
much slower than the parent loses to any that is not, then fewer edits and fewer
characters changed win, because the smaller of two equally fit patches is less
likely to overfit the cases.
"""

from __future__ import annotations

import ast
import difflib
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random

from sggit.engines.base import Case, Engine, Evaluation, Evaluator, MutationContext, Proposal
from sggit.engines.gp.cases import cases_for
from sggit.engines.gp.edits import (
    ALL_OPS,
    PAYLOAD_OPS,
    TIERS,
    Edit,
    Pools,
    apply_edit,
    apply_edits,
    build_pools,
    collect_slots,
    edits_for,
    imports_of,
)
from sggit.engines.gp.normalise import normal_form
from sggit.genes import ENTRY_POINT

# A repair costing more than SLOWER x the parent's steps (plus SLACK) is "slower".
SLOWER = 3.0
SLACK = 200
_STATEMENT_OPS = frozenset({"loopstmt", "insert", "dup", "guard", "splice", "replace"})


@dataclass
class Candidate:
    edits: tuple[Edit, ...]
    source: str
    order: int
    evaluation: Evaluation | None = None
    slow: bool = False

    @property
    def fitness(self) -> int:
        return self.evaluation.passed if self.evaluation else -1

    @property
    def won(self) -> bool:
        ev = self.evaluation
        return ev is not None and ev.total > 0 and ev.passed == ev.total


@dataclass
class SearchStats:
    """What the last `propose` did: the benchmarks, progress lines and failure reports read it."""

    evaluated: int = 0
    generated: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    phase: str = ""
    winners: int = 0
    slow_winners: int = 0
    parent_score: tuple[int, int] = (0, 0)
    best: int = 0
    cases: int = 0
    won_in: str | None = None
    never_passed: list[int] = field(default_factory=list)
    never_passed_inputs: list[dict[str, object]] = field(default_factory=list)

    def line(self) -> str:
        """One progress line: candidates judged, best partial score, elapsed time."""
        return (f"gp {self.phase or 'start'}: {self.evaluated} candidates judged, best {self.best}/{self.cases} cases "
                f"(parent {self.parent_score[0]}), {self.seconds:.1f}s")

    def explain(self) -> list[str]:
        """Why a search found nothing: its effort, its best, and the cases nothing passed."""
        out = [f"gp judged {self.evaluated} candidates in {self.seconds:.1f}s; best partial score "
               f"{self.best}/{self.cases} cases (the parent passed {self.parent_score[0]})"]
        if self.never_passed:
            shown = ", ".join(f"#{i + 1} {_brief(inp)}" for i, inp in zip(self.never_passed, self.never_passed_inputs, strict=False))
            out.append(f"no candidate passed case(s) {shown}")
        return out


def _brief(value: object, limit: int = 80) -> str:
    import json

    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def patch_size(parent: str, child: str) -> int:
    """Characters changed between two unparsed sources: the tie-breaker between equal patches."""
    matcher = difflib.SequenceMatcher(None, parent, child, autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")


def statement_of(site: str) -> str:
    """The path of the statement a site lies in (a created node belongs to its creator's)."""
    parts = site.split("+", 1)[0].split(".")
    for i in range(len(parts) - 1, 0, -1):
        if parts[i].isdigit() and parts[i - 1] in ("body", "orelse", "finalbody"):
            return ".".join(parts[: i + 1])
    return site


class _Run:
    """One propose call: the parent, the cases, the budget and everything seen so far."""

    def __init__(self, engine: GPEngine, context: MutationContext, cases: list[Case], count: int) -> None:
        self.engine = engine
        self.cases = cases
        self.count = count
        self.clock = engine.clock
        self.started = self.clock()
        assert context.parent_source is not None
        parent_tree = ast.parse(context.parent_source)
        self.parent_source = ast.unparse(parent_tree)
        self.pools: Pools = build_pools(parent_tree, [context.siblings[k] for k in sorted(context.siblings)])
        self.imports = imports_of(parent_tree)
        self.rng = Random(engine.seed)
        self.seen: set[str] = {normal_form(parent_tree)}
        self.order = 0
        self.deadline = self.started + engine.max_seconds
        self.stats = SearchStats(cases=len(cases))
        self.winners: list[Candidate] = []
        self.passed_any = [False] * len(cases)
        self.parent_steps: list[int | None] | None = None
        self.parent_passes: list[bool] = []
        self._last_progress = float("-inf")

    # --- budget, building, judging ------------------------------------------------------------

    def expired(self) -> bool:
        return self.clock() >= self.deadline

    def exhausted(self) -> bool:
        return self.stats.evaluated >= self.engine.max_candidates or self.expired()

    def done(self) -> bool:
        return sum(not w.slow for w in self.winners) >= self.count or self.exhausted()

    def build(self, edits: tuple[Edit, ...]) -> Candidate | None:
        """A new, valid, never-seen candidate from these edits, or None."""
        tree, applied = apply_edits(self.parent_source, edits, self.pools)
        return self.finish(tree, applied)

    def finish(self, tree: ast.Module, applied: list[Edit]) -> Candidate | None:
        self.stats.generated += 1
        if not applied:
            return None
        try:
            source = ast.unparse(tree)
            key = normal_form(tree)
        except (ValueError, TypeError, AttributeError, RecursionError, SyntaxError):
            return None
        if key in self.seen:
            self.stats.duplicates += 1
            return None
        self.seen.add(key)
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

    def evaluate(self, batch: list[Candidate]) -> list[Candidate]:
        """Judge a batch; returns the candidates that were judged (time may cut a batch short)."""
        if not batch:
            return []
        evaluations = self.engine.evaluator.evaluate(
            [c.source for c in batch], self.cases, stop_early=True, expired=self.expired)
        judged: list[Candidate] = []
        for cand, ev in zip(batch, evaluations, strict=False):
            if not ev.judged:
                continue
            cand.evaluation = ev
            judged.append(cand)
            self.stats.evaluated += 1
            self.stats.best = max(self.stats.best, ev.passed)
            for i, ok in enumerate(ev.results):
                self.passed_any[i] = self.passed_any[i] or ok
            if cand.won:
                cand.slow = self.is_slow(cand)
                self.winners.append(cand)
                if not cand.slow and self.stats.won_in is None:
                    self.stats.won_in = self.stats.phase
        self.report()
        return judged

    def report(self, force: bool = False) -> None:
        now = self.clock()
        self.stats.seconds = now - self.started
        progress = self.engine.progress
        if progress is None:
            return
        if force or now - self._last_progress >= self.engine.progress_every:
            self._last_progress = now
            progress(self.stats)

    # --- cost ---------------------------------------------------------------------------------

    def measure_parent(self, base: Evaluation) -> None:
        self.parent_passes = list(base.results)
        if any(self.parent_passes):
            self.parent_steps = self.engine.evaluator.steps(self.parent_source, self.cases)

    def is_slow(self, cand: Candidate) -> bool:
        """Much slower than the parent on the cases the parent got right (when steps can be counted)."""
        if self.parent_steps is None:
            return False
        steps = self.engine.evaluator.steps(cand.source, self.cases)
        if steps is None:
            return False
        mine = theirs = 0
        for ok, a, b in zip(self.parent_passes, steps, self.parent_steps, strict=False):
            if ok and a is not None and b is not None:
                mine, theirs = mine + a, theirs + b
        return mine > SLOWER * theirs + SLACK

    # --- phase 1: single edits ----------------------------------------------------------------

    def neighbourhood(self, prefix: tuple[Edit, ...] = (), tiers: tuple[tuple[str, ...], ...] = TIERS) -> list[Edit]:
        """Every single edit on top of `prefix`, in tier and operator order, shuffled within an operator."""
        tree, _ = apply_edits(self.parent_source, prefix, self.pools)
        slots = collect_slots(tree, self.pools)
        ordered: list[Edit] = []
        for tier in tiers:
            for op in tier:
                edits = edits_for(op, slots, self.pools)
                self.rng.shuffle(edits)
                ordered.extend(edits)
        return ordered

    def judge_all(self, patches: list[tuple[Edit, ...]], cap: int) -> list[Candidate]:
        """Build and judge these patches in order, until a winner, the cap or the budget."""
        pending: list[Candidate] = []
        done: list[Candidate] = []
        cap = min(cap, self.engine.max_candidates)
        for patch in patches:
            if self.stats.evaluated + len(pending) >= cap or self.done():
                break
            cand = self.build(patch)
            if cand is None:
                continue
            pending.append(cand)
            if len(pending) >= self.engine.batch:
                done += self.evaluate(pending)
                pending = []
        return done + self.evaluate(pending)

    def _cap(self, share: float) -> int:
        return min(self.engine.max_candidates, self.stats.evaluated + int(self.engine.max_candidates * share))

    def sweep(self, base: int) -> list[Candidate]:
        """Single edits of the parent, with a climb from the best partial repairs before the costly tier.

        Every expression-level single edit comes before any pair: of two patches
        that pass, the one-edit patch is the likelier to be right.
        """
        self.stats.phase = "sweep"
        singles = self.judge_all([(e,) for e in self.neighbourhood((), TIERS[:2])], self.engine.max_candidates)
        if self.done():
            return singles
        self.stats.phase = "climb"
        climb_cap = self._cap(self.engine.climb_share)
        for partial in sorted((c for c in singles if c.fitness > base), key=self._rank)[: self.engine.climb]:
            self.judge_all([partial.edits + (e,) for e in self.neighbourhood(partial.edits, TIERS[:1])], climb_cap)
            if self.done():
                return singles
        self.stats.phase = "sweep"
        singles += self.judge_all([(e,) for e in self.neighbourhood((), TIERS[2:])], self.engine.max_candidates)
        return singles

    # --- phase 2: systematic pairs ------------------------------------------------------------

    def pairs(self, singles: list[Candidate], base: int) -> list[Candidate]:
        self.stats.phase = "pairs"
        cap = self._cap(self.engine.pair_share)
        keep = base if base > 0 else base + 1
        useful = sorted((c for c in singles if c.fitness >= keep and len(c.edits) == 1), key=self._rank)
        done: list[Candidate] = []
        # the best partial repairs, with every single edit on top (new nodes included)
        for partial in [c for c in useful if c.fitness > base][: self.engine.climb]:
            done += self.judge_all([partial.edits + (e,) for e in self.neighbourhood(partial.edits, TIERS[:2])], cap)
            if self.done():
                return done
        # a new statement, then edits of what it brought in
        for stmt in [c for c in useful if c.edits[0].op in _STATEMENT_OPS][: self.engine.pair_pool]:
            created = stmt.edits[0].site + "+"
            follow = [e for e in self.neighbourhood(stmt.edits, TIERS[:1]) if e.site.startswith(created)]
            done += self.judge_all([stmt.edits + (e,) for e in follow], cap)
            if self.done():
                return done
        # dependent edits: two on the same statement, each harmless alone
        by_stmt: dict[str, list[Candidate]] = {}
        for c in useful:
            by_stmt.setdefault(statement_of(c.edits[0].site), []).append(c)
        same = [(a.edits + b.edits) for group in by_stmt.values() for i, a in enumerate(group) for b in group[i + 1:]
                if a.edits[0].site != b.edits[0].site]
        done += self.judge_all(same, cap)
        if self.done():
            return done
        # the best partial repairs with each other
        top = useful[: self.engine.pair_pool]
        done += self.judge_all([a.edits + b.edits for i, a in enumerate(top) for b in top[i + 1:]], cap)
        return done

    # --- phase 3: genetic search --------------------------------------------------------------

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

    def evolve(self, seeds: list[Candidate], base: int) -> None:
        self.stats.phase = "evolve"
        size = self.engine.population
        population = sorted((c for c in seeds if c.fitness >= base), key=self._rank)[:size]
        if not population:
            population = [Candidate((), self.parent_source, 0, None)]
        while not self.done():
            batch: list[Candidate] = []
            attempts = 0
            room = min(self.engine.batch, self.engine.max_candidates - self.stats.evaluated)
            while len(batch) < room and attempts < self.engine.batch * 20:
                attempts += 1
                cand = self._offspring(population)
                if cand is not None:
                    batch.append(cand)
            if not batch:
                return
            population = sorted(population + self.evaluate(batch), key=self._rank)[:size]

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
                ev = self.engine.evaluator.evaluate([source], self.cases, stop_early=True)[0]
                self.stats.evaluated += 1
                trial = Candidate(tuple(applied), source, current.order, ev)
                if trial.won:
                    trial.slow = current.slow and self.is_slow(trial)
                    current = trial
                    changed = True
                    break
        return current

    def ranked(self) -> list[Candidate]:
        minimal: dict[str, Candidate] = {}
        for winner in self.winners:
            small = self.minimise(winner)
            minimal.setdefault(small.source, small)
        ordered = sorted(
            minimal.values(),
            key=lambda c: (c.slow, len(c.edits), patch_size(self.parent_source, c.source), c.order),
        )
        return ordered[: self.count]


def _judging_order(cases: list[Case], base: Evaluation) -> tuple[list[Case], Evaluation]:
    """Cases the parent passes first, so a candidate that breaks them stops at once; and the
    parent's evaluation in that order."""
    rows = list(zip(cases, base.results, base.errors, strict=False))
    rows = [r for r in rows if r[1]] + [r for r in rows if not r[1]]
    return [r[0] for r in rows], base.model_copy(update={"results": [r[1] for r in rows], "errors": [r[2] for r in rows]})


class GPEngine(Engine):
    """Genetic programming over the allele's AST; needs no network, deterministic under a seed.

    Deterministic means: same seed, same context and an evaluator that answers the
    same way give the same proposals, as long as `max_seconds` does not cut the
    search short (the candidate budget is the bound to rely on for repeatability).
    `propose(context, count)` stops at the `count`-th winner. `progress`, when set,
    is called with the running `SearchStats` at most every `progress_every` seconds.
    """

    name = "gp"

    def __init__(
        self,
        evaluator: Evaluator,
        *,
        seed: int | None = None,
        max_candidates: int = 3000,
        max_seconds: float = 60.0,
        batch: int = 16,
        population: int = 40,
        max_edits: int = 4,
        crossover_rate: float = 0.3,
        tournament: int = 3,
        climb: int = 2,
        climb_share: float = 0.2,
        pair_share: float = 0.3,
        pair_pool: int = 12,
        clock: Callable[[], float] = time.monotonic,
        progress: Callable[[SearchStats], None] | None = None,
        progress_every: float = 0.5,
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
        self.climb = climb
        self.climb_share = climb_share
        self.pair_share = pair_share
        self.pair_pool = pair_pool
        self.clock = clock
        self.progress = progress
        self.progress_every = progress_every
        self.last_stats = SearchStats()

    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        if not context.parent_source or count < 1:
            return []
        try:
            ast.parse(context.parent_source)
        except (SyntaxError, ValueError):
            return []
        cases = cases_for(context)
        if not cases:
            return []
        first = self.evaluator.evaluate([ast.unparse(ast.parse(context.parent_source))], cases)[0]
        ordered, base = _judging_order(cases, first)
        run = _Run(self, context, ordered, count)
        self.last_stats = run.stats
        run.stats.parent_score = (base.passed, base.total)
        run.stats.best = base.passed
        if base.total and base.passed == base.total:
            run.stats.seconds = self.clock() - run.started
            return []
        run.measure_parent(base)
        singles = run.sweep(base.passed)
        if not run.done():
            singles += run.pairs(singles, base.passed)
        if not run.done():
            run.evolve(singles, base.passed)
        best = run.ranked()
        self._finish(run, cases)
        return [
            Proposal(
                source=c.source,
                engine=self.name,
                note=f"gp seed={self.seed} edits: {', '.join(map(str, c.edits))}; "
                f"passes {c.fitness}/{len(cases)} cases (parent {base.passed})" + ("; slower than the parent" if c.slow else ""),
            )
            for c in best
        ]

    @staticmethod
    def _finish(run: _Run, cases: list[Case]) -> None:
        stats = run.stats
        stats.winners = len(run.winners)
        stats.slow_winners = sum(w.slow for w in run.winners)
        original = {id(c): i for i, c in enumerate(cases)}
        missed = sorted(original[id(c)] for c, ok in zip(run.cases, run.passed_any, strict=False) if not ok)
        stats.never_passed = missed
        stats.never_passed_inputs = [cases[i].input for i in missed]
        stats.phase = "done"
        run.report(force=True)
        stats.seconds = run.clock() - run.started
