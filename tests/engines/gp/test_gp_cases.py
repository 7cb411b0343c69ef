"""Which cases a candidate is judged on, and what each one expects."""

from __future__ import annotations

from sggit.engines.base import ContractBrief, MutationContext
from sggit.engines.gp import cases_for


def context(**kw) -> MutationContext:  # noqa: ANN003
    brief = ContractBrief(locus="clamp", examples=kw.pop("examples", []))
    return MutationContext(contract=brief, parent_source="def execute(i):\n    return i\n", **kw)


def test_failing_input_examples_and_accepted_inputs_each_become_a_case() -> None:
    cases = cases_for(context(
        failing_input={"value": 99},
        examples=[{"input": {"value": 1}, "output": {"value": 1}}],
        accepted=[{"input": {"value": 2}, "output": {"value": 3}}],
    ))
    assert [(c.kind, c.input, c.expected) for c in cases] == [
        ("failing", {"value": 99}, None),
        ("example", {"value": 1}, {"value": 1}),
        ("accepted", {"value": 2}, {"value": 3}),
    ]


def test_a_failing_input_given_as_json_text_is_decoded() -> None:
    [case] = cases_for(context(failing_input='{"value": 5}'))
    assert case.input == {"value": 5} and case.expected is None


def test_a_failing_input_that_is_also_an_example_is_held_to_the_example() -> None:
    cases = cases_for(context(
        failing_input={"value": 1},
        examples=[{"input": {"value": 1}, "output": {"value": 7}}],
        accepted=[{"input": {"value": 1}, "output": {"value": 8}}],
    ))
    assert [(c.kind, c.expected) for c in cases] == [("failing", {"value": 7})]


def test_records_without_an_output_or_with_non_object_inputs_are_skipped() -> None:
    cases = cases_for(context(
        failing_input=[1, 2],
        examples=[{"input": {"value": 1}}, {"input": "not json", "output": {}}],
        accepted=[{"input": {"value": 2}, "result": {"value": 2}}],
    ))
    assert [(c.kind, c.input) for c in cases] == [("accepted", {"value": 2})]
