"""How the search spends its budget: time and candidate bounds, early stop, first winner, dedupe, cost, seeds."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from benchmarks.gp_harness import load
from sggit.engines.base import Case, ContractBrief, Evaluation, Evaluator, MutationContext, not_judged
from sggit.engines.gp import GPEngine, ProcessEvaluator
from sggit.engines.gp.edits import Edit
from sggit.engines.gp.normalise import normal_form
from sggit.engines.gp.search import _Run


class Recording(Evaluator):
    """The real evaluator underneath; records what the engine asked for."""

    def __init__(self, inner: Evaluator) -> None:
        self.inner = inner
        self.sources: list[str] = []
        self.stop_early: list[bool] = []

    def evaluate(self, sources: list[str], cases: list[Case], *, stop_early: bool = False,
                 expired: Callable[[], bool] | None = None) -> list[Evaluation]:
        out = self.inner.evaluate(sources, cases, stop_early=stop_early, expired=expired)
        self.sources += [s for s, ev in zip(sources, out, strict=True) if ev.judged]
        self.stop_early.append(stop_early)
        return out

    def steps(self, source: str, cases: list[Case]) -> list[int | None] | None:
        return self.inner.steps(source, cases)


class OneSecondEach(Evaluator):
    """Judges for real, but each candidate costs one second on a clock the engine is given."""

    def __init__(self, inner: Evaluator) -> None:
        self.inner = inner
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def evaluate(self, sources: list[str], cases: list[Case], *, stop_early: bool = False,
                 expired: Callable[[], bool] | None = None) -> list[Evaluation]:
        out = []
        for source in sources:
            if expired is not None and expired():
                out.append(not_judged(len(cases)))
                continue
            self.now += 1.0
            out.append(self.inner.evaluate([source], cases, stop_early=stop_early)[0])
        return out


def unrepairable() -> MutationContext:
    """An example no edit of the parent can satisfy, so the search runs to its budget."""
    [program] = load(["gcd"])
    examples = [{"input": {"a": 4, "b": 6}, "output": {"result": "impossible"}}] + program.examples
    return program.context().model_copy(update={"contract": ContractBrief(locus="gcd", examples=examples)})


def test_max_seconds_holds_per_candidate_not_per_batch(evaluator: ProcessEvaluator) -> None:
    slow = OneSecondEach(evaluator)
    engine = GPEngine(slow, seed=1, max_candidates=10_000, max_seconds=10, batch=32, clock=slow.clock)
    assert engine.propose(unrepairable(), 1) == []
    assert engine.last_stats.evaluated == 10, "one candidate per second, started before the deadline"
    assert slow.now <= 11.0


def test_the_candidate_budget_is_exact_and_repeatable(evaluator: ProcessEvaluator) -> None:
    runs = []
    for _ in range(2):
        engine = GPEngine(evaluator, seed=4, max_candidates=150, max_seconds=600)
        assert engine.propose(unrepairable(), 1) == []
        runs.append(engine.last_stats)
    assert runs[0].evaluated == runs[1].evaluated == 150
    assert runs[0].best == runs[1].best and runs[0].never_passed == runs[1].never_passed
    assert 0 in runs[0].never_passed, "the impossible example is never passed"


def test_candidates_stop_at_their_first_failed_case(evaluator: ProcessEvaluator, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    source = (
        "import json\n\ndef execute(input_json):\n"
        f"    open({str(ran)!r}, 'a').write(input_json + '\\n')\n"
        "    return json.dumps({'n': json.loads(input_json)['n']})\n"
    )
    cases = [Case(input={"n": 1}, expected={"n": 1}), Case(input={"n": 2}, expected={"n": 0}),
             Case(input={"n": 3}, expected={"n": 3})]
    [ev] = evaluator.evaluate([source], cases, stop_early=True)
    assert ev.results == [True, False, False]
    assert ev.errors[2] == "skipped after a failed case"
    assert ran.read_text().splitlines() == ['{"n": 1}', '{"n": 2}']
    [full] = evaluator.evaluate([source], cases)
    assert full.results == [True, False, True]


def test_the_engine_asks_for_early_stop_and_judges_no_program_twice(evaluator: ProcessEvaluator) -> None:
    recording = Recording(evaluator)
    engine = GPEngine(recording, seed=2, max_candidates=400, max_seconds=600)
    assert engine.propose(unrepairable(), 1) == []
    assert recording.stop_early[0] is False, "the parent is judged on every case once"
    assert all(recording.stop_early[1:])
    judged = recording.sources[1:]
    forms = {normal_form(ast.parse(s)) for s in judged}
    assert len(forms) == len(judged) == engine.last_stats.evaluated
    assert engine.last_stats.duplicates > 0, "the operators do produce the same program twice; it is built, not judged"


def test_the_search_stops_at_the_first_winner_unless_asked_for_more(evaluator: ProcessEvaluator) -> None:
    [program] = load(["binary_search"])
    one = GPEngine(evaluator, seed=1, max_candidates=3000, max_seconds=600, batch=1)
    [proposal] = one.propose(program.context(), 1)
    assert one.last_stats.winners == 1
    three = GPEngine(evaluator, seed=1, max_candidates=3000, max_seconds=600, batch=1)
    proposals = three.propose(program.context(), 3)
    assert three.last_stats.winners >= 2 and len(proposals) >= 2
    assert three.last_stats.evaluated > one.last_stats.evaluated
    assert proposals[0].source == proposal.source


def test_same_seed_and_budget_give_the_same_search(evaluator: ProcessEvaluator) -> None:
    [program] = load(["triangle_check"])
    results = []
    for _ in range(2):
        engine = GPEngine(evaluator, seed=9, max_candidates=2000, max_seconds=600)
        results.append(([p.source for p in engine.propose(program.context(), 1)], engine.last_stats.evaluated))
    assert results[0] == results[1] and results[0][0]


PRIMES = '''import json
from math import isqrt


def smallest_factor(n):
    for d in range(2, isqrt(n)):
        if n % d == 0:
            return d
    return n


def execute(input_json: str) -> str:
    return json.dumps({"result": smallest_factor(json.loads(input_json)["n"])})
'''


def test_a_repair_slower_than_the_parent_ranks_after_one_that_is_not(evaluator: ProcessEvaluator) -> None:
    """`isqrt(n)` misses square factors: `isqrt(n) + 1` repairs it; so does `n`, in O(n)."""
    examples = [{"input": {"n": n}, "output": {"result": r}} for n, r in ((10, 2), (21, 3), (9, 3), (25, 5), (7919, 7919))]
    context = MutationContext(contract=ContractBrief(locus="f", examples=examples), parent_source=PRIMES)
    engine = GPEngine(evaluator, seed=1)
    first = evaluator.evaluate([ast.unparse(ast.parse(PRIMES))], [Case(input=e["input"], expected=e["output"]) for e in examples])[0]
    assert first.results == [True, True, False, False, True]
    cases = [Case(input=e["input"], expected=e["output"]) for e in examples]
    run = _Run(engine, context, cases, 2)
    run.measure_parent(first)
    site = "body.2.body.0.iter.args.1"
    slow = run.build((Edit("unwrap", site, (0,)),))
    fast = run.build((Edit("index", site, (1,)),))
    assert slow is not None and fast is not None and "range(2, n)" in slow.source
    run.evaluate([slow, fast])
    assert slow.won and fast.won
    assert slow.slow and not fast.slow
    assert [c.source for c in run.ranked()] == [fast.source, slow.source]


def test_progress_reports_judged_counts_and_best_score(evaluator: ProcessEvaluator) -> None:
    seen: list[tuple[str, int, int]] = []
    engine = GPEngine(evaluator, seed=1, max_candidates=200, max_seconds=600, progress_every=0.0,
                      progress=lambda s: seen.append((s.phase, s.evaluated, s.best)))
    engine.propose(unrepairable(), 1)
    counts = [n for _, n, _ in seen]
    assert counts == sorted(counts) and counts[-1] == 200 and seen[-1][0] == "done"
    assert "200 candidates judged" in engine.last_stats.line()
    explained = "\n".join(engine.last_stats.explain())
    assert "gp judged 200 candidates" in explained and "no candidate passed case(s) #1 " in explained
