"""Judging candidate sources in the sandbox: the runtime's `Evaluator` for the gp engine.

A candidate is untrusted code, so it runs exactly where alleles run: in the
WorkerPool, with the kernel API answered by a fresh mock kernel per case (a
candidate cannot see another's side effects, nor touch the real host). It is
called and judged as the organism calls and judges any allele (`call_allele`,
`judge`), so a candidate passes a case exactly when a run on that input would
succeed; a case with an expected output must also have those fields.

The gene being judged comes from the evaluator itself or, when one evaluator
serves an engine that mutates several loci, from `focus(gene)` around the call.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sggit.contract import nodes as n
from sggit.engines.base import Case, Evaluation, Evaluator, not_judged
from sggit.errors import SggitError
from sggit.genome.alleles import allele_id
from sggit.genome.said import gene_said
from sggit.kernel.api import Kernel
from sggit.runtime.call import call_allele, checked_input, judge

_FOCUS: contextvars.ContextVar[n.Gene | None] = contextvars.ContextVar("sggit_evaluate_focus", default=None)


@contextmanager
def focus(gene: n.Gene) -> Iterator[None]:
    """Within the block, evaluators without a gene of their own judge against `gene`."""
    token = _FOCUS.set(gene)
    try:
        yield
    finally:
        _FOCUS.reset(token)


class SandboxEvaluator(Evaluator):
    """Runs each (source, case) pair in the worker pool against `kernel_factory()`.

    With `fresh_factory` (the phenotype's hardware as it boots), a case with an
    expected output (a contract example) is judged there, since examples describe a
    clean host; and a recorded failure, whose original state is gone, passes if the
    candidate handles it either in the state the host is in now or on a clean one.
    """

    def __init__(
        self,
        pool: Any,
        kernel_factory: Callable[[], Kernel],
        *,
        gene: n.Gene | None = None,
        timeout: float = 2.0,
        parallel: int | None = None,
        fresh_factory: Callable[[], Kernel] | None = None,
    ) -> None:
        self.pool = pool
        self.kernel_factory = kernel_factory
        self.fresh_factory = fresh_factory
        self.gene = gene
        self.timeout = timeout
        self.parallel = max(1, parallel or getattr(pool, "size", 1))
        self.evaluated = 0

    def _gene(self) -> n.Gene:
        gene = self.gene or _FOCUS.get()
        if gene is None:
            raise SggitError("the sandbox evaluator does not know which gene it judges", hint="pass gene= or wrap the call in focus(gene)")
        return gene

    def run_case(self, gene: n.Gene, source: str, case: Case) -> str | None:
        data, problem = checked_input(gene, case.input)
        if problem is not None:
            return problem
        if self.fresh_factory is None:
            factories = [self.kernel_factory]
        elif case.expected is not None:
            factories = [self.fresh_factory]
        else:
            factories = [self.kernel_factory, self.fresh_factory]
        error: str | None = "not run"
        for factory in factories:
            call = call_allele(self.pool, gene, allele_id(source), source, data, factory(), timeout=self.timeout)
            verdict = judge(gene, call.outcome, expected=case.expected)
            if verdict.ok:
                return None
            error = verdict.error
        return error

    def outcome_of(self, gene: n.Gene, source: str, data: dict[str, Any]) -> tuple[bool, dict[str, Any]] | None:
        """(succeeded, output) of `source` on `data` on a clean host (a copy of the host now, without one),
        judged as any call is; None when it produced no valid output of the contract at all."""
        factory = self.fresh_factory or self.kernel_factory
        call = call_allele(self.pool, gene, allele_id(source), source, data, factory(), timeout=self.timeout)
        verdict = judge(gene, call.outcome)
        if verdict.kind not in (None, "bad_output") or not isinstance(verdict.output, dict):
            return None
        if verdict.kind == "bad_output" and gene_said(verdict.error) is None:
            return None
        return verdict.ok, verdict.output

    def output_of(self, gene: n.Gene, source: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """The reference output a successor is compared with: `outcome_of`, where it is a success."""
        found = self.outcome_of(gene, source, data)
        return found[1] if found is not None and found[0] else None

    def evaluate(self, sources: list[str], cases: list[Case], *, stop_early: bool = False,
                 expired: Callable[[], bool] | None = None) -> list[Evaluation]:
        gene = self._gene()

        def one(source: str) -> Evaluation:
            if expired is not None and expired():
                return not_judged(len(cases))
            errors: list[str | None] = []
            for case in cases:
                errors.append(self.run_case(gene, source, case))
                if stop_early and errors[-1] is not None:
                    errors += ["skipped after a failed case"] * (len(cases) - len(errors))
                    break
            results = [e is None for e in errors]
            return Evaluation(passed=sum(results), total=len(cases), results=results, errors=errors)

        if self.parallel == 1 or len(sources) == 1:
            out = [one(s) for s in sources]
        else:
            with ThreadPoolExecutor(max_workers=self.parallel) as executor:
                out = list(executor.map(one, sources))
        self.evaluated += len(sources)
        return out
