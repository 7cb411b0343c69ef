"""Judging candidate sources in the sandbox: the runtime's `Evaluator` for the gp engine.

A candidate is untrusted code, so it runs exactly where alleles run: in the
WorkerPool, with the kernel API answered by a fresh mock kernel per case (a
candidate cannot see another's side effects, nor touch the real host). The pass
rule is the gp engine's (`FAILING_CASE_MEANING`) with one addition: the output
must satisfy the contract's `gives`, as it must for any allele the organism runs.

The gene being judged comes from the evaluator itself or, when one evaluator
serves an engine that mutates several loci, from `focus(gene)` around the call.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sggit.contract import nodes as n
from sggit.contract.validate import Validator
from sggit.engines.base import Case, Evaluation, Evaluator, not_judged
from sggit.errors import SggitError
from sggit.genome.alleles import allele_id
from sggit.kernel.api import Kernel
from sggit.kernel.dispatch import make_handler
from sggit.kernel.undo import UndoLog

_FOCUS: contextvars.ContextVar[n.Gene | None] = contextvars.ContextVar("sggit_evaluate_focus", default=None)


@contextmanager
def focus(gene: n.Gene) -> Iterator[None]:
    """Within the block, evaluators without a gene of their own judge against `gene`."""
    token = _FOCUS.set(gene)
    try:
        yield
    finally:
        _FOCUS.reset(token)


def judge_output(gene: n.Gene, raw: str | None, expected: dict[str, Any] | None) -> str | None:
    """None when `raw` passes the case; otherwise why not."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError as exc:
        return f"output is not JSON: {exc.msg}"
    if not isinstance(value, dict):
        return "output is not a JSON object"
    _, violations = Validator(gene.gives, gene.types).validate(value)
    if violations:
        return "output does not match gives: " + "; ".join(str(v) for v in violations[:3])
    if expected is None:
        if value.get("error") is not None:
            return f"reported error: {value['error']}"
        if value.get("success", True) is False:
            return "reported success=false"
        return None
    for key, want in expected.items():
        if key not in value:
            return f"missing output field {key}"
        if value[key] != want:
            return f"{key}: expected {json.dumps(want)}, got {json.dumps(value[key])}"
    return None


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
        data, problems = Validator(gene.takes, gene.types).validate(case.input)
        if problems:
            return "input is invalid: " + "; ".join(str(p) for p in problems[:3])
        if self.fresh_factory is None:
            factories = [self.kernel_factory]
        elif case.expected is not None:
            factories = [self.fresh_factory]
        else:
            factories = [self.kernel_factory, self.fresh_factory]
        verdict: str | None = "not run"
        for factory in factories:
            handler = make_handler(factory(), UndoLog())
            outcome = self.pool.run(allele_id(source), source, json.dumps(data), handler=handler, timeout=self.timeout)
            verdict = f"{outcome.error}: {outcome.message}" if not outcome.ok else judge_output(gene, outcome.output, case.expected)
            if verdict is None:
                return None
        return verdict

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
