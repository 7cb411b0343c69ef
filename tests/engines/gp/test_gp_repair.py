"""The engine repairs seeded single-edit bugs, generalises to held-out inputs, and is repeatable."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from benchmarks.gp_naive import RandomSearchEngine
from benchmarks.gp_seeded import CLAMP, FIRST_FREE, VLAN_NAME, Bug, Program, all_bugs, context_for
from sggit.engines.base import Case, ContractBrief, Evaluation, Evaluator, MutationContext
from sggit.engines.gp import GPEngine, ProcessEvaluator, patch_size
from sggit.engines.gp.edits import Edit, imports_of
from sggit.engines.gp.search import _Run

from .conftest import example_cases, held_out_cases

BUDGET = 1500


def failing_example(evaluator: Evaluator, program: Program, source: str) -> dict:
    [ev] = evaluator.evaluate([source], example_cases(program))
    assert False in ev.results, "a seeded bug must break at least one example"
    return program.examples[ev.results.index(False)]["input"]


@pytest.mark.parametrize(("program", "bug"), all_bugs(), ids=[b.name for _, b in all_bugs()])
def test_repairs_each_seeded_bug_within_budget(evaluator: ProcessEvaluator, program: Program, bug: Bug) -> None:
    buggy = program.buggy(bug)
    context = context_for(program, bug, failing_example(evaluator, program, buggy))
    engine = GPEngine(evaluator, seed=7, max_candidates=BUDGET, max_seconds=60)
    [proposal] = engine.propose(context, 1)
    assert engine.last_stats.evaluated <= BUDGET + 10
    [on_examples, on_held_out] = [evaluator.evaluate([proposal.source], cases)[0]
                                  for cases in (example_cases(program), held_out_cases(program))]
    assert on_examples.passed == on_examples.total
    assert on_held_out.passed == on_held_out.total, on_held_out.errors
    tree = ast.parse(proposal.source)
    assert imports_of(tree) == imports_of(ast.parse(buggy))
    assert any(isinstance(n, ast.FunctionDef) and n.name == "execute" for n in tree.body)
    assert proposal.engine == "gp"


@pytest.mark.parametrize("seed", [3, 11])
def test_same_seed_same_patch(evaluator: ProcessEvaluator, seed: int) -> None:
    program, bug = FIRST_FREE, FIRST_FREE.bugs[2]
    context = context_for(program, bug, None)
    runs = [GPEngine(evaluator, seed=seed, max_candidates=BUDGET).propose(context, 3) for _ in range(2)]
    assert runs[0], "the bug must be repaired"
    assert [p.source for p in runs[0]] == [p.source for p in runs[1]]
    assert [p.note for p in runs[0]] == [p.note for p in runs[1]]


def double_bug_context() -> MutationContext:
    program, first, second = FIRST_FREE, FIRST_FREE.bugs[0], FIRST_FREE.bugs[1]
    source = program.buggy(first).replace(second.old, second.new)
    return context_for(program, first, None).model_copy(update={"parent_source": source})


def test_two_edit_bugs_are_found_by_climbing_from_a_partial_repair(evaluator: ProcessEvaluator) -> None:
    engine = GPEngine(evaluator, seed=1, max_candidates=600)
    [proposal] = engine.propose(double_bug_context(), 1)
    assert engine.last_stats.won_in == "climb"
    assert (proposal.note or "").count("@") == 2
    held = evaluator.evaluate([proposal.source], held_out_cases(FIRST_FREE))[0]
    assert held.passed == held.total


def test_the_genetic_phase_alone_repairs_a_two_edit_bug_repeatably(evaluator: ProcessEvaluator) -> None:
    context = double_bug_context()
    engines = [GPEngine(evaluator, seed=5, max_candidates=3000, max_seconds=120, climb=0, pair_share=0) for _ in range(2)]
    first, second = (e.propose(context, 1) for e in engines)
    assert engines[0].last_stats.won_in == "evolve"
    assert first and [p.source for p in first] == [p.source for p in second]
    held = evaluator.evaluate([first[0].source], held_out_cases(FIRST_FREE))[0]
    assert held.passed == held.total


def test_proposals_come_smallest_first(evaluator: ProcessEvaluator) -> None:
    context = context_for(VLAN_NAME, VLAN_NAME.bugs[2], None)
    engine = GPEngine(evaluator, seed=1, max_candidates=BUDGET)
    proposals = engine.propose(context, 4)
    assert len(proposals) >= 2
    parent = ast.unparse(ast.parse(context.parent_source or ""))
    sizes = [(p.note or "").count("@") for p in proposals]
    assert sizes == sorted(sizes)
    firsts = [patch_size(parent, p.source) for p, s in zip(proposals, sizes, strict=True) if s == sizes[0]]
    assert firsts == sorted(firsts)


def test_minimising_drops_edits_that_do_not_change_the_outcome(evaluator: ProcessEvaluator) -> None:
    program, bug = FIRST_FREE, FIRST_FREE.bugs[0]
    context = context_for(program, bug, None)
    engine = GPEngine(evaluator, seed=1)
    run = _Run(engine, context, [Case(input=e["input"], expected=e["output"]) for e in program.examples], 1)
    neighbourhood = run.neighbourhood()
    fixes = []
    for edit in neighbourhood:
        cand = run.build((edit,))
        if cand is not None:
            run.evaluate([cand])
            if cand.evaluation and cand.evaluation.passed == cand.evaluation.total:
                fixes.append(edit)
                break
    assert fixes, "the single-edit neighbourhood holds a fix"
    fix = fixes[0]
    noise = Edit("dup", "body.1.body.0")
    padded = run.build((fix, noise))
    assert padded is not None
    run.evaluate([padded])
    assert padded.evaluation is not None and padded.evaluation.passed == padded.evaluation.total
    small = run.minimise(padded)
    assert len(small.edits) == 1
    assert small.won and small.edits == (fix,)


def test_nothing_to_repair_or_nothing_to_judge_means_no_proposal(evaluator: ProcessEvaluator) -> None:
    healthy = context_for(CLAMP, CLAMP.bugs[0], None).model_copy(update={"parent_source": CLAMP.source})
    assert GPEngine(evaluator, seed=1).propose(healthy, 1) == []
    no_cases = MutationContext(contract=ContractBrief(locus="x"), parent_source=CLAMP.source)
    assert GPEngine(evaluator, seed=1).propose(no_cases, 1) == []
    no_source = MutationContext(contract=ContractBrief(locus="x"), failing_input={"value": 1})
    assert GPEngine(evaluator, seed=1).propose(no_source, 1) == []


class CountingEvaluator(Evaluator):
    """Records batch sizes; wraps the real evaluator so results stay real."""

    def __init__(self, inner: Evaluator) -> None:
        self.inner = inner
        self.batches: list[int] = []

    def evaluate(self, sources: list[str], cases: list[Case], **options: Any) -> list[Evaluation]:
        self.batches.append(len(sources))
        return self.inner.evaluate(sources, cases, **options)


def test_the_candidate_budget_bounds_the_search_and_candidates_go_in_batches(evaluator: ProcessEvaluator) -> None:
    counting = CountingEvaluator(evaluator)
    context = context_for(CLAMP, CLAMP.bugs[0], None)
    context = context.model_copy(update={"contract": ContractBrief(locus="clamp", examples=[
        {"input": {"value": 1, "low": 0, "high": 2}, "output": {"value": "impossible"}},
    ])})
    engine = GPEngine(counting, seed=1, max_candidates=200, batch=16)
    assert engine.propose(context, 1) == []
    assert engine.last_stats.evaluated <= 200
    assert sum(counting.batches) == engine.last_stats.evaluated + 1  # the parent, judged once
    assert max(counting.batches) == 16


def test_the_naive_baseline_proposes_only_passing_sources(evaluator: ProcessEvaluator) -> None:
    program, bug = FIRST_FREE, FIRST_FREE.bugs[0]
    proposals = RandomSearchEngine(evaluator, seed=2, max_candidates=600).propose(context_for(program, bug, None), 1)
    assert proposals
    [ev] = evaluator.evaluate([proposals[0].source], example_cases(program))
    assert ev.passed == ev.total


def test_a_statement_only_a_sibling_allele_has_is_spliced_in(evaluator: ProcessEvaluator) -> None:
    guard = (
        "    if low > high:\n"
        '        return json.dumps({"success": False, "value": None, "error": "low is above high"})\n'
    )
    parent = CLAMP.source.replace(guard, "")
    sibling = CLAMP.source.replace("value = high\n", "value = high - 1\n")
    base = context_for(CLAMP, CLAMP.bugs[0], None).model_copy(update={"parent_source": parent})
    with_sibling = base.model_copy(update={"siblings": {"a1": sibling}})
    [proposal] = GPEngine(evaluator, seed=1, max_candidates=1000).propose(with_sibling, 1)
    assert (proposal.note or "").startswith("gp seed=1 edits: splice@")
    assert "low is above high" in proposal.source and "high - 1" not in proposal.source
    held = evaluator.evaluate([proposal.source], held_out_cases(CLAMP))[0]
    assert held.passed == held.total
    assert GPEngine(evaluator, seed=1, max_candidates=1000).propose(base, 1) == []


def test_without_an_api_key_auto_picks_gp_and_its_repairs_pass_the_static_screen(
    evaluator: ProcessEvaluator, tmp_path, monkeypatch  # noqa: ANN001
) -> None:
    from sggit.engines.registry import make_engine, resolve_name

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert resolve_name("auto") == "gp"
    engine = make_engine("auto", state_dir=tmp_path, evaluator=evaluator, seed=4)
    program, bug = FIRST_FREE, FIRST_FREE.bugs[1]
    [proposal] = engine.propose(context_for(program, bug, None), 1)
    assert proposal.engine == "gp"
    held = evaluator.evaluate([proposal.source], held_out_cases(program))[0]
    assert held.passed == held.total
