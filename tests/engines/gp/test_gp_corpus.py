"""A sample of the classic-algorithm corpus, repaired correctly (the full corpus is `make bench`)."""

from __future__ import annotations

import pytest

from benchmarks.gp_harness import attempt, load, verdict
from sggit.engines.gp import GPEngine, ProcessEvaluator

SAMPLE = ["balanced", "chunks", "flatten", "grid_paths", "max_subarray", "rotate", "subsets", "unique_everseen"]


def test_the_corpus_is_whole_and_every_bug_is_real(evaluator: ProcessEvaluator) -> None:
    programs = load()
    assert len(programs) >= 40
    assert len({p.category for p in programs}) >= 8
    for program in programs:
        [fixed] = evaluator.evaluate([program.source], program.example_cases())
        [broken] = evaluator.evaluate([program.buggy], program.example_cases())
        assert fixed.passed == fixed.total, program.name
        assert broken.passed < broken.total, f"{program.name}: the examples must catch the bug"
        assert program.new.count("\n") <= 1, f"{program.name}: the bug is one line"


def test_a_parent_that_still_fails_its_examples_is_not_counted_correct(evaluator: ProcessEvaluator) -> None:
    [program] = load(["rotate"])
    assert verdict(evaluator, program, program.buggy) == "failed"
    assert verdict(evaluator, program, program.source) == "correct"
    overfit = program.source.replace("return xs[k:] + xs[:k]", "return xs[k:] + xs[:k] if len(xs) < 6 else xs")
    assert verdict(evaluator, program, overfit) == "overfit"


@pytest.mark.parametrize("name", SAMPLE)
def test_a_sample_of_the_corpus_is_repaired_correctly(evaluator: ProcessEvaluator, name: str) -> None:
    [program] = load([name])
    engine = GPEngine(evaluator, seed=1, max_candidates=1500, max_seconds=120)
    result = attempt(engine, evaluator, program)
    assert result.outcome == "correct", engine.last_stats.explain()
    assert result.judged <= 1500 + 10
