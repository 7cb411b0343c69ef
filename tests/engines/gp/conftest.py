from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from benchmarks.gp_seeded import Program
from sggit.engines.base import Case
from sggit.engines.gp import ProcessEvaluator


@pytest.fixture(scope="session")
def evaluator() -> Iterator[ProcessEvaluator]:
    with ProcessEvaluator(2, case_timeout=0.2) as ev:
        yield ev


def reference_output(source: str, payload: dict) -> dict:
    """Run trusted reference code in-process: it is the oracle for held-out inputs."""
    namespace: dict = {}
    exec(compile(source, "<reference>", "exec"), namespace)
    return json.loads(namespace["execute"](json.dumps(payload)))


def example_cases(program: Program) -> list[Case]:
    return [Case(input=e["input"], expected=e["output"]) for e in program.examples]


def held_out_cases(program: Program) -> list[Case]:
    return [Case(input=h, expected=reference_output(program.source, h), kind="held-out") for h in program.held_out]
