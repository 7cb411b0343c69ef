"""Benchmarks of the gp engine, each against a baseline measured in the same run.

    .venv/bin/python -m pytest benchmarks/bench_gp.py --benchmark-only -s

- candidates judged per second through the process evaluator, against running the
  same candidates in-process with no isolation;
- time (and candidates) to repair each seeded single-edit bug, gp against the naive
  random one-or-two-edit search with the same budget, evaluator and batch size;
- repaired counts over the single-edit and the two-edit (double bug) tiers, gp
  against naive; repairs must also pass the held-out inputs to count.
"""

from __future__ import annotations

import ast
import json
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gp_naive import RandomSearchEngine
from gp_seeded import FLAPPING, Program, all_bugs, context_for, double_bugs

from sggit.engines.base import Case, MutationContext
from sggit.engines.gp import GPEngine, ProcessEvaluator
from sggit.engines.gp.edits import ALL_OPS, apply_edits, build_pools, collect_slots, edits_for

BUDGET = 1500
SEED = 1
WORKERS = 2


@pytest.fixture(scope="module")
def evaluator() -> Iterator[ProcessEvaluator]:
    with ProcessEvaluator(WORKERS, case_timeout=0.2) as ev:
        yield ev


def _reference(program: Program) -> Callable[[str], str]:
    namespace: dict[str, Any] = {}
    exec(compile(program.source, "<reference>", "exec"), namespace)
    return namespace["execute"]


def _held_out(program: Program) -> list[Case]:
    execute = _reference(program)
    return [Case(input=h, expected=json.loads(execute(json.dumps(h)))) for h in program.held_out]


def _examples(program: Program) -> list[Case]:
    return [Case(input=e["input"], expected=e["output"]) for e in program.examples]


def _neighbours(program: Program, limit: int) -> list[str]:
    tree = ast.parse(program.source)
    pools = build_pools(tree, [])
    slots = collect_slots(tree, pools)
    sources = []
    for edit in (e for op in ALL_OPS for e in edits_for(op, slots, pools)):
        new, _ = apply_edits(program.source, [edit], pools)
        source = ast.unparse(new)
        try:
            compile(source, "<n>", "exec")
        except SyntaxError:
            continue
        sources.append(source)
    # "while" mutants may loop forever; in-process there is no time limit to stop them
    return [s for s in sources if "while" not in s][:limit]


def _in_process(sources: list[str], cases: list[Case]) -> int:
    passed = 0
    for source in sources:
        namespace: dict[str, Any] = {}
        try:
            exec(compile(source, "<c>", "exec"), namespace)
        except Exception:  # noqa: BLE001
            continue
        for case in cases:
            try:
                out = json.loads(namespace["execute"](json.dumps(case.input)))
                passed += all(out.get(k) == v for k, v in (case.expected or {}).items())
            except Exception:  # noqa: BLE001
                pass
    return passed


def test_gp_candidates_judged_per_second(benchmark: Any, evaluator: ProcessEvaluator) -> None:
    sources = _neighbours(FLAPPING, 256)
    cases = _examples(FLAPPING)
    started = time.perf_counter()
    for _ in range(3):
        direct_passed = _in_process(sources, cases)
    direct = (time.perf_counter() - started) / 3
    evaluations = benchmark.pedantic(evaluator.evaluate, args=(sources, cases), rounds=5, iterations=1)
    assert sum(ev.passed for ev in evaluations) == direct_passed
    isolated = benchmark.stats.stats.mean
    benchmark.extra_info.update({
        "candidates": len(sources),
        "cases_per_candidate": len(cases),
        "workers": WORKERS,
        "isolated_candidates_per_second": round(len(sources) / isolated),
        "in_process_candidates_per_second": round(len(sources) / direct),
        "isolation_cost_ratio": round(isolated / direct, 2),
    })
    print(f"\njudged per second: {len(sources) / isolated:.0f} isolated ({WORKERS} workers), "
          f"{len(sources) / direct:.0f} in-process; ratio {isolated / direct:.1f}x")


def _double_context(program: Program, source: str) -> MutationContext:
    return context_for(program, program.bugs[0], None).model_copy(update={"parent_source": source})


def _attempt(engine_cls: type, evaluator: ProcessEvaluator, context: MutationContext, program: Program) -> dict[str, Any]:
    engine = engine_cls(evaluator, seed=SEED, max_candidates=BUDGET, max_seconds=120, batch=32)
    started = time.perf_counter()
    proposals = engine.propose(context, 1)
    seconds = time.perf_counter() - started
    evaluated = engine.last_stats.evaluated if isinstance(engine, GPEngine) else engine.evaluated
    repaired = False
    if proposals:
        ev = evaluator.evaluate([proposals[0].source], _examples(program) + _held_out(program))[0]
        repaired = ev.passed == ev.total
    return {"repaired": repaired, "seconds": seconds, "evaluated": evaluated}


@pytest.mark.parametrize(("program", "bug"), all_bugs(), ids=[b.name for _, b in all_bugs()])
def test_gp_time_to_repair_each_seeded_bug(benchmark: Any, evaluator: ProcessEvaluator, program: Program, bug: Any) -> None:
    context = context_for(program, bug, None)
    naive = _attempt(RandomSearchEngine, evaluator, context, program)

    def repair() -> list[Any]:
        return GPEngine(evaluator, seed=SEED, max_candidates=BUDGET, max_seconds=120).propose(context, 1)

    proposals = benchmark.pedantic(repair, rounds=3, iterations=1)
    gp = _attempt(GPEngine, evaluator, context, program)
    assert proposals and gp["repaired"]
    benchmark.extra_info.update({
        "gp_evaluated": gp["evaluated"],
        "naive_repaired": naive["repaired"],
        "naive_evaluated": naive["evaluated"],
        "naive_seconds": round(naive["seconds"], 3),
        "naive_over_gp_time": round(naive["seconds"] / benchmark.stats.stats.mean, 1),
    })


def _tier(evaluator: ProcessEvaluator, items: list[tuple[str, Program, MutationContext]]) -> dict[str, Any]:
    rows = []
    for name, program, context in items:
        gp = _attempt(GPEngine, evaluator, context, program)
        naive = _attempt(RandomSearchEngine, evaluator, context, program)
        rows.append((name, gp, naive))
        print(f"  {name:45} gp {'ok ' if gp['repaired'] else 'no '} {gp['seconds']:6.2f}s {gp['evaluated']:5}  "
              f"naive {'ok ' if naive['repaired'] else 'no '} {naive['seconds']:6.2f}s {naive['evaluated']:5}")

    def summary(key: int) -> dict[str, Any]:
        won = [r[key] for r in rows if r[key]["repaired"]]
        return {
            "repaired": len(won),
            "total_seconds": round(sum(r[key]["seconds"] for r in rows), 2),
            "total_candidates": sum(r[key]["evaluated"] for r in rows),
            "median_seconds": round(statistics.median(w["seconds"] for w in won), 3) if won else None,
            "median_candidates": statistics.median(w["evaluated"] for w in won) if won else None,
        }

    return {"programs": len(rows), "gp": summary(1), "naive": summary(2)}


def _buggy_contexts() -> tuple[list[Any], list[Any]]:
    singles = [(b.name, p, context_for(p, b, None)) for p, b in all_bugs()]
    doubles = [(b.name, p, _double_context(p, src)) for p, b, src in double_bugs()]
    return singles, doubles


def test_gp_against_naive_random_search(benchmark: Any, evaluator: ProcessEvaluator) -> None:
    singles, doubles = _buggy_contexts()
    # a double bug whose two edits cancel out is no bug: keep only parents that fail an example
    doubles = [d for d in doubles if evaluator.evaluate([d[2].parent_source], _examples(d[1]))[0].score < 1]
    results: dict[str, Any] = {}

    def run() -> None:
        print(f"\nbudget {BUDGET} candidates, seed {SEED}, {WORKERS} workers")
        results["single"] = _tier(evaluator, singles)
        results["double"] = _tier(evaluator, doubles)

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(results)
    for tier, r in results.items():
        print(f"{tier}: gp {r['gp']} | naive {r['naive']} of {r['programs']}")
    assert results["single"]["gp"]["repaired"] == len(singles)
    for tier in ("single", "double"):
        assert results[tier]["gp"]["repaired"] >= results[tier]["naive"]["repaired"]
    assert results["double"]["gp"]["repaired"] > results["double"]["naive"]["repaired"]
