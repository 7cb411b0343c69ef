"""The gp engine on the classic-algorithm corpus, against the naive search measured in the same run.

    .venv/bin/python -m pytest benchmarks/bench_gp_corpus.py --benchmark-only -s

Every program in `gp_corpus/` carries one realistic one-line bug. Both engines get
the same evaluator, seed and budget (BUDGET candidates, MAX_SECONDS of wall
clock). A repair counts as correct only if it also agrees with the correct
version on HIDDEN generated inputs the examples never showed; otherwise it is
overfit. The table and the summary go to stdout and to the benchmark's extra_info.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from gp_harness import HIDDEN, Attempt, attempt, load, summary
from gp_naive import RandomSearchEngine

from sggit.engines.gp import GPEngine, ProcessEvaluator

BUDGET = 2000
MAX_SECONDS = 30.0
SEED = 1
WORKERS = 2
CASE_TIMEOUT = 0.2


@pytest.fixture(scope="module")
def evaluator() -> Iterator[ProcessEvaluator]:
    with ProcessEvaluator(WORKERS, case_timeout=CASE_TIMEOUT) as ev:
        yield ev


def test_gp_against_naive_on_the_classic_corpus(benchmark: Any, evaluator: ProcessEvaluator) -> None:
    programs = load()
    rows: list[tuple[Attempt, Attempt]] = []

    def run() -> None:
        print(f"\n{len(programs)} programs, budget {BUDGET} candidates / {MAX_SECONDS:.0f}s, seed {SEED}, "
              f"{WORKERS} workers, {HIDDEN} hidden inputs each")
        for program in programs:
            gp = attempt(GPEngine(evaluator, seed=SEED, max_candidates=BUDGET, max_seconds=MAX_SECONDS), evaluator, program)
            naive = attempt(RandomSearchEngine(evaluator, seed=SEED, max_candidates=BUDGET, max_seconds=MAX_SECONDS),
                            evaluator, program)
            rows.append((gp, naive))
            print(f"  {program.name:20} {program.bug_class:38} gp {gp.outcome:8} {gp.seconds:6.2f}s {gp.judged:5}   "
                  f"naive {naive.outcome:8} {naive.seconds:6.2f}s {naive.judged:5}")

    benchmark.pedantic(run, rounds=1, iterations=1)
    result = {"gp": summary([r[0] for r in rows]), "naive": summary([r[1] for r in rows]),
              "failed": [r[0].program for r in rows if r[0].outcome != "correct"]}
    benchmark.extra_info.update(result)
    print(json.dumps(result, indent=1))
    gp, naive = result["gp"], result["naive"]
    assert gp["overfit"] == 0
    assert gp["correct"] >= 0.85 * len(programs)
    assert gp["correct"] > naive["correct"]
