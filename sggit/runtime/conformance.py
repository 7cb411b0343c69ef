"""A contract's `examples:` as a conformance suite for every allele of a locus.

Each example runs in a sandbox worker against a fresh mock kernel built from the
phenotype's hardware, so examples of configuration genes are as repeatable as
those of pure transforms. Output fields an example does not list are not compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sggit.contract import nodes as n
from sggit.kernel.api import Kernel
from sggit.runtime.call import call_allele, checked_input, judge


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


def run_example(gene: n.Gene, allele: str, source: str, example: n.Example, pool: Any, kernel: Kernel, timeout: float = 5.0) -> str | None:
    """None when the allele reproduces the example; otherwise what went wrong."""
    data, problem = checked_input(gene, example.input)
    if problem is not None:
        return f"example {problem}"
    call = call_allele(pool, gene, allele, source, data, kernel, timeout=timeout)
    return judge(gene, call.outcome, expected=example.output).error


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
