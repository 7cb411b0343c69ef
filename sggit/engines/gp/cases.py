"""The cases a candidate is judged on, drawn from the mutation context.

Three sources, in this order: the failing input (nobody knows its right answer, so
`expected=None`: see `FAILING_CASE_MEANING`), the contract's examples (expected =
the example's output fields) and the recently accepted inputs (expected = the
output that was accepted). Duplicated inputs are judged once, the first source
winning, so a failing input that is also an example is held to the example.
"""

from __future__ import annotations

import json
from typing import Any

from sggit.engines.base import Case, MutationContext

FAILING_CASE_MEANING = (
    "a case with expected=None passes when execute returns, without raising and within "
    "the time limit, a JSON string that decodes to an object whose `error` field is absent "
    "or null and whose `success` field, if present, is not false"
)


def _as_dict(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _pair(record: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    source = record.get("input")
    output = record.get("output", record.get("result"))
    return _as_dict(source), _as_dict(output)


def cases_for(context: MutationContext) -> list[Case]:
    cases: list[Case] = []
    seen: set[str] = set()

    def add(inp: dict[str, Any] | None, expected: dict[str, Any] | None, kind: str) -> None:
        if inp is None:
            return
        key = json.dumps(inp, sort_keys=True, default=str)
        if key in seen:
            if kind == "example":
                for i, case in enumerate(cases):
                    if case.kind == "failing" and json.dumps(case.input, sort_keys=True, default=str) == key:
                        cases[i] = Case(input=inp, expected=expected, kind="failing")
            return
        seen.add(key)
        cases.append(Case(input=inp, expected=expected, kind=kind))

    add(_as_dict(context.failing_input), None, "failing")
    for example in context.contract.examples:
        inp, out = _pair(example)
        if out is not None:
            add(inp, out, "example")
    for record in context.accepted:
        inp, out = _pair(record)
        if out is not None:
            add(inp, out, "accepted")
    return cases
