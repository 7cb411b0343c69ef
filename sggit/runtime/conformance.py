"""A contract's `examples:` as a conformance suite for every allele of a locus.

Each example runs in a sandbox worker against a fresh mock kernel built from the
phenotype's hardware, so examples of configuration genes are as repeatable as
those of pure transforms. Output fields an example does not list are not compared.

An example may start from a declared host state, `given [[op, arg...], ...]`:
gene_sdk calls made on the fresh host before the allele runs (plus `inject` for
the mock's failure injection), so re-applying to a host already in the requested
state, or a diagnostic on an unhealthy host, is an example like any other.
`{nic.N}` in an example's strings is the host's N-th NIC, so one contract serves
every phenotype's hardware.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sggit.contract import nodes as n
from sggit.kernel.api import Kernel
from sggit.kernel.dispatch import perform
from sggit.kernel.mock import MockKernel
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


_NIC = re.compile(r"\{nic\.(\d+)\}")


class HostStateError(Exception):
    """An example's declared host state could not be built."""


def host_nics(kernel: Kernel) -> list[str]:
    """The host's NICs in kernel order: what `{nic.N}` names (none on a kernel without links)."""
    if not hasattr(kernel, "list_links"):
        return []
    return [link["name"] for link in sorted(kernel.list_links(), key=lambda link: link["index"]) if link["kind"] == "physical"]


def bind_nics(value: Any, nics: list[str]) -> Any:
    """`value` with every `{nic.N}` replaced by the host's N-th NIC."""
    if isinstance(value, str):
        def one(match: re.Match[str]) -> str:
            index = int(match.group(1))
            if index >= len(nics):
                raise HostStateError(f"{match.group(0)}: the host has {len(nics)} NIC(s)")
            return nics[index]

        return _NIC.sub(one, value)
    if isinstance(value, list):
        return [bind_nics(v, nics) for v in value]
    if isinstance(value, dict):
        return {k: bind_nics(v, nics) for k, v in value.items()}
    return value


def prepare(example: n.Example, kernel: Kernel) -> n.Example:
    """Build the example's host state on `kernel`; the example with its NICs bound to this host."""
    nics = host_nics(kernel)
    for number, step in enumerate(bind_nics(example.given, nics), start=1):
        name, *args = step
        kwargs = args.pop() if args and isinstance(args[-1], dict) else {}
        try:
            if name == "inject":
                if not isinstance(kernel, MockKernel):
                    raise HostStateError("inject needs the mock kernel")
                kernel.inject(*args, **kwargs)
            else:
                perform(kernel, name, args, kwargs)
        except HostStateError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failed step is reported with its number
            raise HostStateError(f"host state step {number} ({name}): {exc}") from None
    return example.model_copy(update={"input": bind_nics(example.input, nics), "output": bind_nics(example.output, nics), "given": []})


def run_example(gene: n.Gene, allele: str, source: str, example: n.Example, pool: Any, kernel: Kernel, timeout: float = 5.0) -> str | None:
    """None when the allele reproduces the example; otherwise what went wrong."""
    try:
        example = prepare(example, kernel)
    except HostStateError as exc:
        return f"example host state: {exc}"
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


def clean_host_examples(gene: n.Gene) -> list[n.Example]:
    """The examples that hold on any clean host as written (no host state, no `{nic.N}`):
    the cases that engines and heal replay as they stand."""
    return [e for e in gene.examples if not e.given and not _NIC.search(json.dumps([e.input, e.output]))]
