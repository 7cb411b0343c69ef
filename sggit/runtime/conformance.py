"""A contract's `examples:` as a conformance suite for every allele of a locus.

Each example runs in a sandbox worker against a fresh mock kernel built from the
phenotype's hardware, so examples of configuration genes are as repeatable as
those of pure transforms. Output fields an example does not list are not compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sggit.contract import nodes as n
from sggit.contract.validate import Validator
from sggit.kernel.api import Kernel
from sggit.kernel.dispatch import make_handler
from sggit.kernel.undo import UndoLog


@dataclass
class ExampleResult:
    index: int
    ok: bool
    detail: str | None = None


@dataclass
class ConformanceRow:
    locus: str
    allele: str
    results: list[ExampleResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    def as_json(self) -> dict[str, Any]:
        return {
            "locus": self.locus,
            "allele": self.allele,
            "passed": self.passed,
            "total": self.total,
            "failures": [{"example": r.index + 1, "detail": r.detail} for r in self.results if not r.ok],
        }


def compare(expected: dict[str, Any], actual: Any) -> str | None:
    """Why `actual` does not satisfy the example's listed fields (None when it does)."""
    if not isinstance(actual, dict):
        return f"output is {type(actual).__name__}, not an object"
    for key, want in expected.items():
        if key not in actual:
            return f"{key}: missing (expected {json.dumps(want)})"
        if actual[key] != want:
            return f"{key}: expected {json.dumps(want)}, got {json.dumps(actual[key])}"
    return None


def run_example(gene: n.Gene, allele: str, source: str, example: n.Example, pool: Any, kernel: Kernel, timeout: float = 5.0) -> str | None:
    """None when the allele reproduces the example; otherwise what went wrong."""
    takes = Validator(gene.takes, gene.types)
    data, problems = takes.validate(example.input)
    if problems:
        return "example input is invalid: " + "; ".join(str(p) for p in problems)
    outcome = pool.run(allele, source, json.dumps(data), handler=make_handler(kernel, UndoLog()), timeout=timeout)
    if not outcome.ok:
        return f"{outcome.error}: {outcome.message}"
    try:
        value = json.loads(outcome.output)
    except (TypeError, json.JSONDecodeError):
        return "output is not JSON"
    _, violations = Validator(gene.gives, gene.types).validate(value)
    if violations:
        return "output does not match gives: " + "; ".join(str(v) for v in violations[:3])
    return compare(example.output, value)


def conformance(
    gene: n.Gene,
    alleles: dict[str, str],
    pool: Any,
    kernel_factory: Callable[[], Kernel],
    timeout: float = 5.0,
) -> list[ConformanceRow]:
    rows: list[ConformanceRow] = []
    for allele, source in alleles.items():
        row = ConformanceRow(gene.name, allele)
        for index, example in enumerate(gene.examples):
            detail = run_example(gene, allele, source, example, pool, kernel_factory(), timeout)
            row.results.append(ExampleResult(index, detail is None, detail))
        rows.append(row)
    return rows
