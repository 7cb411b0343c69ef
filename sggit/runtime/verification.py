"""The organism's verifier: `verify:` checks within their window, now or recorded as due.

A `within` window is a deadline (sggit.runtime.deadline): the checks are polled
with backoff, each poll held back by the scorer, and the first passing poll (or
the one at the deadline) is the verdict and the only one that counts.

Checks are diagnostics run through the expression core (handed in as `run_locus`),
so they are called and judged like any gene; their `feeds:` score the producers
through the scorer, but only the producers whose change the checks judge: a
gene's verify judges that gene's change alone (by its own convergence record),
a pathway's verify the steps that changed the host in that run.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sggit.contract import nodes as n
from sggit.genome.fitness import Record
from sggit.genome.repo import Genome
from sggit.kernel.api import Kernel
from sggit.kernel.kinds import kind_of
from sggit.runtime.attempt import Attempt
from sggit.runtime.call import READ_ONLY_FAMILIES
from sggit.runtime.deadline import Backoff, Progress, Results, converge, describe, host_settled
from sggit.runtime.pathway import PathwayResult, StepOutcome, _step_needs
from sggit.runtime.scoring import Scoring
from sggit.runtime.temporal import (
    CheckCall,
    DoneCheck,
    DueCheck,
    mark_done,
    object_names,
    pending_due,
    record_due,
)
from sggit.runtime.values import bind, evaluate

CheckRunner = Callable[[str, dict[str, Any]], StepOutcome]
Validate = Callable[[n.Gene, Any], dict[str, Any]]
# A window's verdict, held: (healthy, results, commit); `commit()` makes its deciding poll's records count.
HeldVerdict = tuple[bool, Results, Callable[[], None]]

NOBODY_ELSE: frozenset[str] = frozenset()


def changed_loci(result: PathwayResult) -> set[str]:
    """The loci whose alleles changed the host in this pathway run: what its `verify:` judges.

    A step's attempt changed the host when it journalled a mutating call; a fused
    run has no attempts per step, so there a step counts unless its output says
    `changed: false`.
    """
    found: set[str] = set()
    for step in result.steps:
        if step.status != "ok":
            continue
        details = [c.detail for c in step.children if isinstance(c.detail, (Attempt, PathwayResult))]
        for detail in details:
            if isinstance(detail, PathwayResult):
                found |= changed_loci(detail)
            elif detail.undo:
                found.add(detail.locus)
        if not details and not (isinstance(step.output, dict) and step.output.get("changed") is False):
            found.add(step.target)
    return found


def final_mutation(pathway: n.Pathway, genes: dict[str, n.Gene]) -> n.Step | None:
    """The step after whose change the host changes no more, when the pathway's window may open at it.

    Only where that is known before the run: every step a plain gene call, the
    last changing one's locus called once, every step before it finished before it
    and every step after it one that cannot change the host (a diagnostic's or a
    transform's transaction is read-only). A loop, a branch or a nested pathway
    keeps the window after the run.
    """
    steps = pathway.steps
    if not steps or any(not isinstance(s.body, n.Call) or s.body.pathway or s.body.target not in genes for s in steps):
        return None
    targets = [s.body.target for s in steps if isinstance(s.body, n.Call)]
    changing = [i for i, locus in enumerate(targets) if genes[locus].family not in READ_ONLY_FAMILIES]
    if not changing or targets.count(targets[changing[-1]]) != 1:
        return None
    last = steps[changing[-1]]
    needs = _step_needs(pathway)

    def before(num: int) -> set[int]:
        found: set[int] = set()
        todo = list(needs[num])
        while todo:
            dep = todo.pop()
            if dep not in found:
                found.add(dep)
                todo.extend(needs[dep])
        return found

    earlier = {s.number for s in steps[:changing[-1]]}
    later = [s.number for s in steps[changing[-1] + 1:]]
    if before(last.number) != earlier or any(last.number not in before(num) for num in later):
        return None
    return last


@dataclass
class Watching:
    """The pathway's checks watching on their own thread since `opener`'s verify began; their verdict is held."""

    opener: Attempt
    thread: threading.Thread
    held: HeldVerdict | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    """Set when its verdict can no longer count: it makes no further poll."""


@dataclass
class Window:
    """A pathway run whose window may open at its final mutation, step `step` at `locus`.

    The verdict counts only if the attempt whose verify opened it made the change
    the step kept: a failed verify undoes that change, and the next allele's
    verify opens the window again (`latest`).
    """

    pathway: n.Pathway
    values: dict[str, Any]
    step: int
    locus: str
    latest: Watching | None = None


def expand_checks(items: list[n.VerifyItem], names: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A `verify:` block as (locus, input) calls, with its `for` loops unrolled over `names`."""
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if isinstance(item, n.Check):
            out.append((item.locus, bind(item.args, names)))
        elif isinstance(item, n.VerifyFor):
            values = evaluate(item.iterable, names)
            for value in values if isinstance(values, list) else [values]:
                out.extend(expand_checks(item.items, {**names, item.var: value}))
    return out


class Verification:
    def __init__(self, genome: Genome, phenotype_name: str, kernel: Kernel, scoring: Scoring, run_check: CheckRunner, events: list[str], *,
                 wait: bool = True, validate: Validate | None = None) -> None:
        self.genome = genome
        self.phenotype_name = phenotype_name
        self.kernel = kernel
        self.scoring = scoring
        self.run_check = run_check
        self.events = events
        self.wait = wait
        self.validate = validate
        self.progress: Progress | None = None
        self.backoff = Backoff()
        self._armed: Window | None = None
        self._watching: list[Watching] = []
        self._arming = threading.Lock()

    # -- time ----------------------------------------------------------------------------
    def clock(self) -> tuple[float, str]:
        """Due times live on the kernel kind's clock: virtual on the mock, the wall clock on a real kernel."""
        kind = kind_of(self.kernel)
        return kind.now(self.kernel), kind.clock

    def advance(self, seconds: float) -> None:
        """Let time pass: the mock's clock moves, a real kernel sleeps."""
        kind_of(self.kernel).advance(self.kernel, seconds)

    # -- checks --------------------------------------------------------------------------
    def run_checks(self, checks: list[tuple[str, dict[str, Any]]], *, judged: set[str] | None = None, timescale: str | None = None,
                   charge: frozenset[str] | set[str] | None = None) -> tuple[bool, list[dict[str, Any]]]:
        """Run diagnostics now; their `feeds:` score the producers (as `timescale` when given; only `charge`'s when given)."""
        results: list[dict[str, Any]] = []
        with self.scoring.judging(judged, timescale, charge):
            for locus, params in checks:
                outcome = self.run_check(locus, params)
                healthy = bool(outcome.ok and isinstance(outcome.output, dict) and outcome.output.get("healthy", True))
                summary = f"{locus} {json.dumps(params, sort_keys=True)}: {'healthy' if healthy else (outcome.error or 'unhealthy')}"
                results.append({"locus": locus, "input": params, "output": outcome.output, "healthy": healthy, "summary": summary})
        return all(r["healthy"] for r in results), results

    def converge(self, checks: list[tuple[str, dict[str, Any]]], window: float, names: list[str], *, judged: set[str] | None = None,
                 charge: frozenset[str] | set[str] | None = None) -> tuple[bool, Results]:
        """The checks polled until they pass or `window` runs out; only the deciding poll is scored."""
        healthy, results, commit = self.held_converge(checks, window, names, judged=judged, charge=charge)
        commit()
        return healthy, results

    def held_converge(self, checks: list[tuple[str, dict[str, Any]]], window: float, names: list[str], *, judged: set[str] | None = None,
                      charge: frozenset[str] | set[str] | None = None, stop: Callable[[], bool] | None = None) -> HeldVerdict:
        """`converge` with the deciding poll's commit handed back instead of made."""
        decided: list[Callable[[], None]] = []

        def poll() -> tuple[bool, Results, Callable[[], None]]:
            healthy, results, commit = self.poll_checks(checks, judged=judged, charge=charge)
            return healthy, results, lambda: decided.append(commit)

        verdict = converge(poll, window, self.kernel, settled=lambda: host_settled(self.kernel), progress=self.progress,
                           label=describe(checks, names), backoff=self.backoff, stop=stop)
        return verdict.healthy, verdict.results, decided[0] if decided else (lambda: None)

    def poll_checks(self, checks: list[tuple[str, dict[str, Any]]], *, judged: set[str] | None = None,
                    charge: frozenset[str] | set[str] | None = None) -> tuple[bool, Results, Callable[[], None]]:
        """One tentative poll: its verdict, and the commit that makes its records count."""
        (healthy, results), commit = self.scoring.tentatively(lambda: self.run_checks(checks, judged=judged, charge=charge))
        return healthy, results, commit

    def verify(self, gene: n.Gene, data: dict[str, Any], attempt: Attempt) -> tuple[bool, list[dict[str, Any]]]:
        """The contract's verify checks within its window; healthy only if every check is.

        At the final mutation of a pathway run in `windows`, the pathway's window
        opens here too and watches alongside.
        """
        assert gene.verify is not None
        window = gene.verify.window.seconds if gene.verify.window else 0.0
        output = attempt.output
        names = {**data, **(output if isinstance(output, dict) else {})}
        checks = expand_checks(gene.verify.items, names)
        armed = self._armed
        if armed is None or armed.locus != gene.name:
            return self.converge(checks, window, object_names(data), judged={gene.name}, charge=NOBODY_ELSE)
        start, _ = self.clock()
        self.open(armed, attempt, start)
        with kind_of(self.kernel).lane(self.kernel, start):
            return self.converge(checks, window, object_names(data), judged={gene.name}, charge=NOBODY_ELSE)

    # -- a pathway's window opened at its final mutation ---------------------------------
    @contextmanager
    def windows(self, pathway: n.Pathway, values: dict[str, Any]) -> Iterator[None]:
        """Around one pathway run: its window may open at its final mutation (`final_mutation`).

        One pathway at a time is armed; any other run keeps its window after the
        run. On the way out every window still watching is stopped and waited for,
        so no check outlives the run (a failed run waits at most for the poll in
        progress, not for the rest of the window).
        """
        step = final_mutation(pathway, self.scoring.tree.genes) if self.wait and pathway.verify is not None else None
        armed = step is not None and isinstance(step.body, n.Call) and self._arming.acquire(blocking=False)
        if armed:
            assert step is not None and isinstance(step.body, n.Call)
            self._armed = Window(pathway=pathway, values=values, step=step.number, locus=step.body.target)
        try:
            yield
        finally:
            if armed:
                self._armed = None
                for watching in self._watching:
                    watching.stop.set()
                while self._watching:
                    self._watching.pop().thread.join()
                self._arming.release()

    def open(self, armed: Window, attempt: Attempt, start: float) -> None:
        """The pathway's checks begin watching from `start` on their own thread; their verdict is held."""
        pathway = armed.pathway
        assert pathway.verify is not None
        seconds = pathway.verify.window.seconds if pathway.verify.window else 0.0
        checks = expand_checks(pathway.verify.items, armed.values)
        kind = kind_of(self.kernel)

        def watch() -> None:
            with kind.lane(self.kernel, start):
                watching.held = self.held_converge(checks, seconds, object_names(armed.values), charge=NOBODY_ELSE, stop=watching.stop.is_set)

        watching = Watching(opener=attempt, thread=threading.Thread(target=watch, name=f"verify-{pathway.name}", daemon=True))
        if armed.latest is not None:
            armed.latest.stop.set()  # it watched a change this attempt's predecessor made, and that was undone
        armed.latest = watching
        self._watching.append(watching)
        watching.thread.start()

    def opened(self, pathway: n.Pathway, result: PathwayResult | None) -> HeldVerdict | None:
        """The verdict of the window opened at this run's final mutation, if it still judges what the run kept."""
        armed = self._armed
        if armed is None or armed.pathway is not pathway or armed.latest is None or result is None:
            return None
        watching, armed.latest = armed.latest, None
        report = next((s for s in result.steps if s.number == armed.step), None)
        kept = report.children[-1].detail if report is not None and report.status == "ok" and report.children else None
        if kept is not watching.opener:
            watching.stop.set()
            return None
        watching.thread.join()
        return watching.held

    def blame(self, results: Results, charge: frozenset[str] | set[str] | None) -> None:
        """Feed a pathway window's deciding checks to the producers of `charge` (every fed producer when None)."""
        with self.scoring.judging(None, None, charge):
            for r in results:
                gene = self.scoring.tree.genes.get(r["locus"])
                if gene is None or not gene.feeds or not isinstance(r["output"], dict):
                    continue
                data = self.validate(gene, r["input"]) if self.validate is not None else r["input"]
                self.scoring.feed(gene, data, r["healthy"])

    def defer(self, gene: n.Gene, data: dict[str, Any], attempt: Attempt) -> DueCheck:
        """Record a gene's verify checks as due after its window instead of waiting for them."""
        assert gene.verify is not None
        names = {**data, **(attempt.output if isinstance(attempt.output, dict) else {})}
        now, clock = self.clock()
        window = gene.verify.window.seconds if gene.verify.window else 0.0
        checks = [CheckCall(locus=locus, input=params) for locus, params in expand_checks(gene.verify.items, names)]
        entry = DueCheck(phenotype=self.phenotype_name, target=gene.name, origin="gene", allele=attempt.allele, input=data, checks=checks, due=now + window, clock=clock)  # type: ignore[arg-type]
        record_due(self.genome, entry)
        self.events.append(f"verify of {gene.name} {attempt.allele[:7]} due in {window:g}s")
        return entry

    def verify_pathway(self, pathway: n.Pathway, values: dict[str, Any], result: PathwayResult | None = None) -> dict[str, Any]:
        """A pathway's `verify:` after its window, or recorded as due with --no-wait.

        Feeds score the producers of the steps that changed the host in `result`
        (every fed producer when no run is given).
        """
        assert pathway.verify is not None
        window = pathway.verify.window.seconds if pathway.verify.window else 0.0
        checks = expand_checks(pathway.verify.items, values)
        charge = changed_loci(result) if result is not None else None
        if not self.wait:
            now, clock = self.clock()
            entry = DueCheck(phenotype=self.phenotype_name, target=pathway.name, origin="pathway", input=values, checks=[CheckCall(locus=locus, input=p) for locus, p in checks], due=now + window, clock=clock,  # type: ignore[arg-type]
                             charge=sorted(charge) if charge is not None else None)
            record_due(self.genome, entry)
            self.events.append(f"verify of pathway {pathway.name} due in {window:g}s")
            return {"status": "due", "id": entry.id, "due": entry.due, "clock": entry.clock}
        held = self.opened(pathway, result)
        if held is None:
            held = self.held_converge(checks, window, object_names(values), charge=NOBODY_ELSE)
        healthy, results, commit = held
        commit()
        self.blame(results, charge)
        return {"status": "healthy" if healthy else "unhealthy", "healthy": healthy, "checks": results}

    def verify_due(self, *, wait: bool = False) -> list[dict[str, Any]]:
        """Run recorded checks whose window has passed (the mock's clock is moved there)."""
        reports: list[dict[str, Any]] = []
        for entry in sorted(pending_due(self.genome, self.phenotype_name), key=lambda e: e.due):
            now, clock = self.clock()
            report: dict[str, Any] = {"id": entry.id, "target": entry.target, "origin": entry.origin, "allele": entry.allele, "due": entry.due}
            if entry.clock != clock:
                reports.append({**report, "status": f"recorded on the {'mock' if entry.clock == 'virtual' else 'netlink'} kernel"})
                continue
            if entry.due > now:
                if clock == "wall" and not wait:
                    reports.append({**report, "status": "not due", "in_seconds": round(entry.due - now, 3)})
                    continue
                if clock == "virtual":
                    self.advance(entry.due - now)
                else:
                    time.sleep(entry.due - now)
            gene_check = entry.origin == "gene"
            charge = NOBODY_ELSE if gene_check else (set(entry.charge) if entry.charge is not None else None)
            healthy, results = self.run_checks([(c.locus, c.input) for c in entry.checks], judged={entry.target} if gene_check else None, charge=charge)
            if entry.origin == "gene" and entry.allele:
                error = None if healthy else "convergence check failed: " + "; ".join(r["summary"] for r in results if not r["healthy"])
                self.scoring.append(Record(allele=entry.allele, locus=entry.target, ok=healthy, timescale="convergence", error=error, input=entry.input,
                                          phenotype=self.phenotype_name))
                if not healthy:
                    self.scoring.consider_demotion(entry.target, entry.allele)
            mark_done(self.genome, DoneCheck(id=entry.id, healthy=healthy, results=results))
            reports.append({**report, "status": "healthy" if healthy else "unhealthy", "checks": results})
        return reports
