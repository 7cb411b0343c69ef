"""Running a pathway: late-bound steps, references, loops, branches, dependencies, failure policy.

The runner knows nothing of alleles, sandboxes or kernels: it asks an invoker to
run a locus and gets back an outcome that may carry a way to undo it. That seam is
what lets the organism put fallback, scoring and transactions behind every step,
and lets fusion replay the same semantics in one process.

Ordering: a pathway without `requires:` is a linear sequence, as the paradigm's
Level-1 pathways are. With `requires:`, steps run as soon as what they need has
finished (declared needs, plus any step whose output they reference), and
independent steps run concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

from sggit.contract import nodes as n
from sggit.contract.tree import ContractTree
from sggit.contract.validate import Invalid, Validator
from sggit.errors import SggitError, UsageError
from sggit.runtime.values import ResolveError, bind, evaluate, resolve_ref

Rollback = Callable[[], list[str]]


class Interrupted(KeyboardInterrupt):
    """A run the user stopped, raised once it has undone what its failure policy undoes; says what that was.

    An interrupt is a failure of the step it lands in: the call in flight is undone
    by its transaction, the steps before it as `on failure:` says, and each nested
    pathway does the same for its own steps on the way out.
    """

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary

    def __str__(self) -> str:
        return self.summary


@dataclass
class StepOutcome:
    """What running one locus (or a nested pathway) came to."""

    ok: bool
    output: Any = None
    error: str | None = None
    allele: str | None = None
    rollback: Rollback | None = None
    detail: Any = None


LocusInvoker = Callable[[str, dict[str, Any]], StepOutcome]
PathwayInvoker = Callable[[str, dict[str, Any]], StepOutcome]

StepStatus = Literal["ok", "failed", "skipped", "not_run"]


@dataclass
class StepReport:
    number: int
    target: str
    status: StepStatus = "not_run"
    output: Any = None
    error: str | None = None
    alleles: list[str] = field(default_factory=list)
    rolled_back: bool = False
    undo: list[Rollback] = field(default_factory=list, repr=False)
    children: list[StepOutcome] = field(default_factory=list, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.number,
            "target": self.target,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "alleles": self.alleles,
            "rolled_back": self.rolled_back,
        }


@dataclass
class PathwayResult:
    pathway: str
    status: Literal["ok", "failed", "partial"]
    steps: list[StepReport]
    rollback_errors: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def outputs(self) -> dict[str, Any]:
        return {str(s.number): s.output for s in self.steps if s.status == "ok"}

    def failed_steps(self) -> list[StepReport]:
        return [s for s in self.steps if s.status == "failed"]

    def as_json(self) -> dict[str, Any]:
        return {
            "pathway": self.pathway,
            "status": self.status,
            "steps": [s.as_json() for s in self.steps],
            "rollback_errors": self.rollback_errors,
        }

    def rollback(self) -> list[str]:
        """Undo every step that changed something, newest first."""
        errors: list[str] = []
        for report in reversed(self.steps):
            if report.status != "ok" or report.rolled_back:
                continue
            for undo in reversed(report.undo):
                errors.extend(undo())
            report.rolled_back = bool(report.undo)
        return errors


class PathwayRunner:
    def __init__(self, tree: ContractTree, invoke: LocusInvoker, *, max_workers: int = 4, invoke_pathway: PathwayInvoker | None = None,
                 stopping: threading.Event | None = None, cancel: Callable[[], None] | None = None) -> None:
        self.tree = tree
        self.invoke = invoke
        self.max_workers = max_workers
        self.invoke_pathway = invoke_pathway
        self.stopping = stopping or threading.Event()
        """Set when the user interrupts a run whose steps run in threads, which no signal reaches: the invoker stops starting calls."""
        self.cancel = cancel
        """Ends the calls those threads are in, so the run stops now rather than when each call would have ended."""
        self._validators: dict[int, tuple[n.Pathway, Validator]] = {}  # compiled once per pathway

    def validate_input(self, pathway: n.Pathway, inputs: Any) -> dict[str, Any]:
        found = self._validators.get(id(pathway))
        if found is None or found[0] is not pathway:
            found = self._validators[id(pathway)] = (pathway, Validator(pathway.takes))
        try:
            return found[1](inputs)
        except Invalid as exc:
            raise UsageError(f"invalid input for pathway {pathway.name}: " + "; ".join(str(v) for v in exc.violations)) from None

    def run(self, name: str, inputs: Any, *, validated: bool = False, _depth: int = 0) -> PathwayResult:
        """Run `name` on `inputs`; `validated` says the caller already checked them against `takes`."""
        pathway = self.tree.pathways.get(name)
        if pathway is None:
            raise UsageError(f"unknown pathway {name}")
        if _depth > 16:
            raise SggitError(f"pathway {name} nests deeper than 16 levels")
        values = inputs if validated else self.validate_input(pathway, inputs)
        return _Run(self, pathway, values, _depth).execute()


def _step_needs(pathway: n.Pathway) -> dict[int, set[int]]:
    numbers = [s.number for s in pathway.steps]
    if not pathway.requires:
        return {num: ({numbers[i - 1]} if i else set()) for i, num in enumerate(numbers)}
    needs: dict[int, set[int]] = {num: set() for num in numbers}
    for req in pathway.requires:
        needs[req.step].update(x for x in req.needs if x in needs)
    for step in pathway.steps:
        if isinstance(step.body, n.WhenStep) and step.body.step in needs:
            needs[step.number].add(step.body.step)
        for call in step.calls():
            for param in call.params:
                for ref in n.iter_refs(param.value):
                    if ref.step is not None and ref.step in needs:
                        needs[step.number].add(ref.step)
    return needs


class _Run:
    def __init__(self, runner: PathwayRunner, pathway: n.Pathway, values: dict[str, Any], depth: int) -> None:
        self.runner = runner
        self.pathway = pathway
        self.values = values
        self.depth = depth
        self.outputs: dict[int, Any] = {}
        self.lock = threading.Lock()
        self.policies = [p.text for p in pathway.on_failure]
        self.reports = {s.number: StepReport(number=s.number, target=_describe(s)) for s in pathway.steps}
        self.completion: list[int] = []

    # -- one step
    def call(self, call: n.Call, names: dict[str, Any]) -> StepOutcome:
        with self.lock:
            steps = dict(self.outputs)
        try:
            params = bind(call.params, names, steps)
        except ResolveError as exc:
            return StepOutcome(ok=False, error=str(exc))
        if call.pathway or (call.target not in self.runner.tree.genes and call.target in self.runner.tree.pathways):
            if self.runner.invoke_pathway is not None:
                return self.runner.invoke_pathway(call.target, params)
            try:
                nested = self.runner.run(call.target, params, _depth=self.depth + 1)
            except SggitError as exc:
                return StepOutcome(ok=False, error=str(exc))
            error = "; ".join(f"step {s.number} ({s.target}): {s.error}" for s in nested.failed_steps()) or None
            return StepOutcome(ok=nested.ok, output=nested.outputs, error=error, rollback=nested.rollback, detail=nested)
        return self.runner.invoke(call.target, params)

    def step(self, step: n.Step) -> None:
        report = self.reports[step.number]
        body = step.body
        outcomes: list[StepOutcome] = []
        try:
            if isinstance(body, n.Call):
                outcome = self.call(body, self.values)
                outcomes.append(outcome)
                ok, output, error = outcome.ok, outcome.output, outcome.error
            elif isinstance(body, n.ForStep):
                ok, output, error = self.loop(body, outcomes)
            else:
                ok, output, error, skipped = self.branch(body, outcomes)
                if skipped:
                    report.status = "skipped"
                    return
        except ResolveError as exc:
            ok, output, error = False, None, str(exc)
        except KeyboardInterrupt:
            # the calls of this step that finished (a loop's iterations) go with the one interrupted
            report.error = "interrupted"
            for outcome in reversed(outcomes):
                if outcome.rollback is not None:
                    outcome.rollback()
            raise
        report.children = outcomes
        report.alleles = [o.allele for o in outcomes if o.allele]
        report.undo = [o.rollback for o in outcomes if o.rollback is not None]
        report.output = output
        report.error = error
        report.status = "ok" if ok else "failed"
        if not ok and "preserve what works" not in self.policies:
            # a step that fails part-way (a loop, a nested pathway) is undone as a whole
            for undo in reversed(report.undo):
                undo_errors = undo()
                if undo_errors:
                    report.error = f"{report.error}; undo: {'; '.join(undo_errors)}"
            report.undo = []
        if ok:
            with self.lock:
                self.outputs[step.number] = output

    def loop(self, body: n.ForStep, outcomes: list[StepOutcome]) -> tuple[bool, Any, str | None]:
        with self.lock:
            steps = dict(self.outputs)
        items = evaluate(body.iterable, self.values, steps)
        if not isinstance(items, list):
            return False, None, f"for {body.var}: expected a list to iterate over, got {type(items).__name__}"
        results: list[Any] = []
        for index, item in enumerate(items):
            names = {**self.values, body.var: item}
            row: dict[str, Any] = {}
            for call in body.body:
                outcome = self.call(call, names)
                outcomes.append(outcome)
                if not outcome.ok:
                    return False, results, f"{body.var}={item!r} (iteration {index + 1}): {call.target}: {outcome.error}"
                row[call.target] = outcome.output
            results.append(row[body.body[0].target] if len(body.body) == 1 else row)
        return True, results, None

    def branch(self, body: n.WhenStep, outcomes: list[StepOutcome]) -> tuple[bool, Any, str | None, bool]:
        with self.lock:
            steps = dict(self.outputs)
        ref = n.Ref(step=body.step, path=list(body.path))
        flag = bool(resolve_ref(ref, {}, steps))
        chosen = next((b for b in body.branches if b.when == flag), None)
        if chosen is None:
            return True, None, None, True
        outcome = self.call(chosen.call, self.values)
        outcomes.append(outcome)
        return outcome.ok, outcome.output, outcome.error, False

    # -- the whole pathway
    def execute(self) -> PathwayResult:
        if not self.pathway.requires:
            return self.execute_in_order()
        pending = {s.number for s in self.pathway.steps}
        try:
            self._run_concurrently(pending)
        except KeyboardInterrupt as exc:  # the executor has let the steps in flight finish
            raise self.interrupted(exc) from None
        for num in pending:
            if self.reports[num].error is None:
                self.reports[num].error = "not run: the pathway stopped at a failure"
        return self.finish()

    def _run_concurrently(self, pending: set[int]) -> None:
        """Each step as soon as what it needs has finished; `pending` keeps the steps never started."""
        needs = _step_needs(self.pathway)
        by_number = {s.number: s for s in self.pathway.steps}
        running: dict[Future[None], int] = {}
        preserve = "preserve what works" in self.policies
        stopped = False
        with ThreadPoolExecutor(max_workers=self.runner.max_workers, thread_name_prefix=f"pathway-{self.pathway.name}") as pool:
            try:
                while pending or running:
                    if not stopped:
                        for num in sorted(pending):
                            deps = needs[num]
                            if any(self.reports[d].status in ("failed", "not_run") and d not in pending and d not in running.values() for d in deps):
                                pending.discard(num)
                                self.reports[num].error = "not run: a step it needs did not succeed"
                                continue
                            if all(self.reports[d].status in ("ok", "skipped") for d in deps):
                                pending.discard(num)
                                running[pool.submit(self.step, by_number[num])] = num
                    if not running:
                        break
                    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                    for future in done:
                        num = running.pop(future)
                        future.result()
                        self.completion.append(num)
                        if self.reports[num].status == "failed" and not preserve:
                            stopped = True
            except KeyboardInterrupt:
                self.runner.stopping.set()  # the steps in flight stop at their next call; the executor waits for them
                if self.runner.cancel is not None:
                    self.runner.cancel()  # ...and the calls they are in end now
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    def execute_in_order(self) -> PathwayResult:
        """A linear pathway needs no thread pool: each step waits for the one before anyway."""
        for step in self.pathway.steps:
            try:
                self.step(step)
            except KeyboardInterrupt as exc:
                raise self.interrupted(exc) from None
            self.completion.append(step.number)
            if self.reports[step.number].status == "failed":
                for later in self.pathway.steps:
                    if later.number not in self.completion:
                        self.reports[later.number].error = "not run: a step it needs did not succeed"
                break
        return self.finish()

    def interrupted(self, inner: KeyboardInterrupt) -> Interrupted:
        """Undo what the failure policy undoes for a failure, as if the step interrupted had failed; what was done, in words."""
        for report in self.reports.values():
            if report.status == "ok" and report.number not in self.completion:
                self.completion.append(report.number)  # finished while the interrupt waited for it
            elif report.status == "not_run" and report.error is None:
                report.error = "not run: interrupted"
        result = self.finish(interrupted=True)
        undone = [str(r.number) for r in reversed(result.steps) if r.rolled_back]
        kept = [str(r.number) for r in result.steps if r.status == "ok" and not r.rolled_back and r.undo]
        said = [f"pathway {self.pathway.name}"]
        if undone:
            said.append(f"undid step{'s' if len(undone) > 1 else ''} {', '.join(undone)}")
        if kept:
            said.append(f"kept step{'s' if len(kept) > 1 else ''} {', '.join(kept)}, as its failure policy says")
        if not undone and not kept:
            said.append("nothing it changed was left")
        if result.rollback_errors:
            said.append(f"could not undo: {'; '.join(result.rollback_errors)}")
        mine = ": ".join(said[:2]) + "".join(f"; {part}" for part in said[2:])
        return Interrupted(f"{inner.summary}; then {mine}" if isinstance(inner, Interrupted) else mine)

    def finish(self, *, interrupted: bool = False) -> PathwayResult:
        ordered = [self.reports[s.number] for s in self.pathway.steps]
        failed = interrupted or any(r.status in ("failed",) for r in ordered) or any(r.status == "not_run" for r in ordered)
        result = PathwayResult(pathway=self.pathway.name, status="ok", steps=ordered, policies=self.policies)
        if not failed:
            return result
        result.status = "partial" if ("report partial" in self.policies or "preserve what works" in self.policies) and any(r.status == "ok" for r in ordered) else "failed"
        if "rollback completed steps" in self.policies or "rollback all" in self.policies:
            completed = [self.reports[num] for num in self.completion if self.reports[num].status == "ok"]
            for report in reversed(completed):
                for undo in reversed(report.undo):
                    result.rollback_errors.extend(undo())
                report.rolled_back = bool(report.undo)
                report.undo = []
            result.status = "failed"
        return result


def _describe(step: n.Step) -> str:
    body = step.body
    if isinstance(body, n.Call):
        return f"-> {body.target}" if body.pathway else body.target
    if isinstance(body, n.ForStep):
        return f"for {body.var}: " + ", ".join(c.target for c in body.body)
    return f"when step {body.step}.{'.'.join(body.path)}"
