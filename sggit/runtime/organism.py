"""The organism: execute -> validate -> score -> fallback -> mutate -> register -> promote.

One `Organism` expresses one phenotype of one genome on one kernel. A locus runs
its phenotype's fallback stack in sandbox workers; every attempt is validated
against the contract, scored into the fitness journal against the allele that
actually ran, and wrapped in a transaction whose undo log the kernel fills. When
the whole stack fails, the engine is asked for a new allele.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sggit.contract import nodes as n
from sggit.contract.tree import ContractTree
from sggit.contract.validate import Invalid, Validator, compile_validator
from sggit.engines.base import ContractBrief, Engine, MutationContext, NoEngine, Proposal
from sggit.errors import SggitError, UsageError
from sggit.genes import source_problems
from sggit.genome import phenostore
from sggit.genome.alleles import allele_source, alleles_at, register_allele
from sggit.genome.fitness import Counters, Record, fold
from sggit.genome.lineage import Failure, Lineage, read_lineage
from sggit.genome.mutations import record_proposal
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from sggit.genome.sync import journal, live_counters, pending_records
from sggit.kernel.api import Kernel
from sggit.kernel.dispatch import kernel_lock, make_handler
from sggit.kernel.mock import MockKernel
from sggit.kernel.undo import UndoLog
from sggit.runtime import lifecycle
from sggit.runtime.arena import FailureStreaks, Thresholds, failure_streaks, promotion_candidate
from sggit.runtime.deadline import Backoff, Progress, Results, converge, describe, host_settled
from sggit.runtime.pathway import PathwayResult, PathwayRunner, StepOutcome
from sggit.runtime.conformance import clean_host_examples
from sggit.runtime.evaluate import focus
from sggit.runtime.safety import policy_for
from sggit.runtime.temporal import (
    CheckCall,
    Deployment,
    DoneCheck,
    DueCheck,
    ProducerIndex,
    deployments,
    mark_done,
    object_names,
    pending_due,
    record_deployment,
    record_due,
)
from sggit.runtime.values import ResolveError, bind, evaluate, resolve_ref

RUNNABLE_STATES = ("dominant", "recessive", "canary")
_T = TypeVar("_T")


class CallerError(UsageError):
    """Input that does not satisfy `takes`: the caller's mistake, never scored against an allele."""


@dataclass
class Attempt:
    locus: str
    allele: str
    ok: bool
    output: Any = None
    error: str | None = None
    kind: str | None = None
    duration_ms: float = 0.0
    undo: list[str] = field(default_factory=list)
    undo_failures: list[str] = field(default_factory=list)
    convergence: bool | None = None
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    origin: str = "stack"
    undo_log: UndoLog | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "locus": self.locus,
            "allele": self.allele,
            "ok": self.ok,
            "error": self.error,
            "kind": self.kind,
            "duration_ms": round(self.duration_ms, 3),
            "undo": self.undo,
            "undo_failures": self.undo_failures,
            "convergence": self.convergence,
            "origin": self.origin,
        }


@dataclass
class RunResult:
    target: str
    kind: str
    ok: bool
    output: Any
    trace: list[Attempt]
    pathway: PathwayResult | None = None
    error: str | None = None
    events: list[str] = field(default_factory=list)
    verification: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"target": self.target, "kind": self.kind, "ok": self.ok, "output": self.output}
        if self.error:
            data["error"] = self.error
        if self.verification is not None:
            data["verify"] = self.verification
        if self.pathway is not None:
            data["pathway"] = self.pathway.as_json()
        return data


class Organism:
    def __init__(
        self,
        genome: Genome,
        tree: ContractTree,
        phenotype: str,
        kernel: Kernel,
        pool: Any,
        *,
        engine: Engine | None = None,
        timeout: float = 5.0,
        wait_verify: bool = True,
        max_mutations: int = 1,
    ) -> None:
        self.genome = genome
        self.tree = tree
        self.phenotype_name = phenotype
        self.kernel = kernel
        self.pool = pool
        self.engine = engine or NoEngine()
        self.timeout = timeout
        self.wait_verify = wait_verify
        self.max_mutations = max_mutations
        self.trace: list[Attempt] = []
        self.events: list[str] = []
        self._lock = threading.RLock()
        self._sources: dict[str, str] = {}
        self._journal = journal(genome)
        self._pmap: tuple[Any, PhenotypeMap] | None = None
        self._validators: dict[tuple[str, str], Validator] = {}
        self._counters: dict[str, Counters] | None = None
        self._streaks: FailureStreaks | None = None
        self.producers = ProducerIndex(genome, phenotype)
        self._local = threading.local()
        self.progress: Progress | None = None
        self.backoff = Backoff()

    # -- expression ------------------------------------------------------------
    def phenotype(self) -> PhenotypeMap:
        """The map at the branch tip; re-read only when the tip moved (a ref lookup per call)."""
        tip = self.genome.target(phenostore.phenotype_ref(self.phenotype_name))
        with self._lock:
            if self._pmap is None or self._pmap[0] != tip:
                self._pmap = (tip, phenostore.read_phenotype(self.genome, self.phenotype_name))
            return self._pmap[1]

    def stack(self, locus: str) -> list[str]:
        """Alleles to try, in order: the phenotype's stack, then canaries; never shadow or deprecated."""
        entry = self.phenotype().locus(locus)
        order = list(entry.stack)
        order += [a for a, s in entry.alleles.items() if s.state == "canary" and a not in order]
        if not order and not entry.alleles:
            order = alleles_at(self.genome, locus)
        return order

    def source(self, allele: str) -> str:
        with self._lock:
            if allele not in self._sources:
                self._sources[allele] = allele_source(self.genome, allele).decode("utf-8")
            return self._sources[allele]

    # -- running ---------------------------------------------------------------
    def run(self, target: str, inputs: Any) -> RunResult:
        if target in self.tree.genes:
            outcome = self.run_locus(target, inputs, caller=True)
            if outcome.ok:
                self._deployed(target, "locus", self.validate_input(self.tree.genes[target], inputs), outcome.output)
            return RunResult(target, "locus", outcome.ok, outcome.output, list(self.trace), error=outcome.error, events=list(self.events))
        if target in self.tree.pathways:
            pathway = self.tree.pathways[target]
            values = PathwayRunner(self.tree, lambda locus, params: StepOutcome(ok=False)).validate_input(pathway, inputs)
            result = self.run_pathway(target, inputs)
            verification = None
            if result.ok:
                self._deployed(target, "pathway", values, result)
                if pathway.verify is not None:
                    verification = self.verify_pathway(pathway, values)
            return RunResult(target, "pathway", result.ok, result.outputs, list(self.trace), pathway=result, events=list(self.events), verification=verification)
        known = sorted(self.tree.genes) + sorted(self.tree.pathways)
        raise UsageError(f"unknown locus or pathway {target}", hint=f"known: {', '.join(known)}")

    def run_pathway(self, name: str, inputs: Any) -> PathwayResult:
        """Late binding: the runner names loci, the phenotype picks the alleles at each call.

        A fused pathway runs as its one fused allele; when that fails, the pathway is
        decomposed and this same input runs step by step, where failures are scored
        per step and mutated. A step-by-step success extends the fusion streak.
        """
        runner = PathwayRunner(self.tree, lambda locus, params: self.run_locus(locus, params), invoke_pathway=self.run_nested)
        entry = self.phenotype().pathways.get(name)
        if entry is not None and entry.state == "fused" and entry.fused_allele and name in self.tree.pathways:
            values = runner.validate_input(self.tree.pathways[name], inputs)
            fused = self.run_fused(name, entry.fused_allele, values)
            if fused is not None:
                return fused
            inputs = values
        result = runner.run(name, inputs)
        self.reinforce(name, result)
        return result

    def run_nested(self, name: str, params: dict[str, Any]) -> StepOutcome:
        """A `-> pathway` step: expressed like any pathway (fused or not), then its own `verify:` runs."""
        try:
            pathway = self.tree.pathways[name]
            values = PathwayRunner(self.tree, self.run_locus).validate_input(pathway, params)
            result = self.run_pathway(name, values)
        except SggitError as exc:
            return StepOutcome(ok=False, error=str(exc))
        error = "; ".join(f"step {s.number} ({s.target}): {s.error}" for s in result.failed_steps()) or None
        if result.ok and pathway.verify is not None:
            verification = self.verify_pathway(pathway, values)
            self.events.append(f"verify of nested pathway {name}: {verification['status']}")
        return StepOutcome(ok=result.ok, output=result.outputs, error=error, rollback=result.rollback, detail=result)

    def run_fused(self, name: str, allele: str, values: dict[str, Any]) -> PathwayResult | None:
        """One worker call for the whole pathway, in one transaction; None after decomposing on failure."""
        from sggit.runtime import fusion

        pathway = self.tree.pathways[name]
        undo, handler = self.transaction()
        started = time.perf_counter()
        outcome = self.pool.run(allele, self.source(allele), json.dumps(values), handler=handler, timeout=self.timeout * max(1, len(pathway.steps)))
        attempt = Attempt(locus=name, allele=allele, ok=False, duration_ms=(time.perf_counter() - started) * 1000, origin="fusion")
        attempt.undo = [e.op for e in undo.entries]
        output: fusion.FusedOutput | None = None
        if outcome.ok:
            try:
                output = fusion.FusedOutput.model_validate_json(outcome.output or "")
            except ValueError as exc:
                attempt.error = f"fused output is not valid: {exc}"
        else:
            attempt.error, attempt.kind = outcome.message or outcome.error, outcome.error
        if output is not None and output.ok:
            attempt.ok, attempt.output = True, output.outputs
        elif output is not None:
            attempt.error = f"step {output.failed_step}: {output.error}"
        with self._lock:
            self.trace.append(attempt)
        self._journal.append(Record(allele=allele, locus=name, ok=attempt.ok, timescale="immediate", error=attempt.error, input=values))
        if attempt.ok and output is not None:
            result = fusion.fused_result(pathway, allele, output)

            def rollback() -> list[str]:
                with kernel_lock(self.kernel):
                    return [f"{f.entry}: {f.step}: {f.error}" for f in undo.rollback(self.kernel)]

            if len(undo):
                first = next(r for r in result.steps if r.status == "ok")
                first.undo.append(rollback)
            return result
        if len(undo):
            with kernel_lock(self.kernel):
                attempt.undo_failures = [f"{f.entry}: {f.step}: {f.error}" for f in undo.rollback(self.kernel)]
        self.decompose(name, allele, attempt.error or "fused gene failed")
        return None

    def decompose(self, name: str, allele: str, error: str) -> None:
        """Back to step by step: the phenotype records it and the fusion streak starts over."""
        from sggit.runtime.fusion import Reinforcement

        phenostore.decompose(self.genome, self.phenotype_name, name)
        Reinforcement(self.genome, self.phenotype_name).reset(name)
        self.events.append(f"decomposed {name} (fused {allele[:7]} failed: {error})")

    def reinforce(self, name: str, result: PathwayResult) -> str | None:
        """Count a step-by-step run toward fusion; fuse when the streak reaches the threshold."""
        from sggit.runtime import fusion

        if fusion.fusion_problem(self.tree, name) is not None:
            return None
        pmap = self.phenotype()
        if not result.ok and result.failed_steps():
            broken = ", ".join(f"step {s.number} ({s.target})" for s in result.failed_steps())
            if pmap.pathways.get(name) is not None and pmap.pathways[name].state == "decomposed":
                self.events.append(f"{name}: broken step {broken}")
        streak = fusion.Reinforcement(self.genome, self.phenotype_name).observe(name, result.ok, fusion.alleles_used(result))
        if streak.count < fusion.threshold_for(pmap.settings):
            return None
        return self.fuse(name, streak.alleles)

    def fuse(self, name: str, alleles: dict[str, str]) -> str:
        """Generate the mechanical fused gene from these constituents and express it."""
        from sggit.runtime import fusion

        plan = fusion.plan_of(self.tree, name)
        pmap = self.phenotype()
        chosen = dict(alleles)
        for locus in plan["genes"]:
            if locus not in chosen:
                stack = self.stack(locus)
                if not stack:
                    raise SggitError(f"cannot fuse {name}: no allele is expressed at {locus}")
                chosen[locus] = stack[0]
        source = fusion.mechanical_source(plan, {locus: self.source(a) for locus, a in chosen.items()}, chosen)
        allele = fusion.register_fused(self.genome, self.phenotype_name, name, source, chosen)
        fusion.Reinforcement(self.genome, self.phenotype_name).reset(name)
        self.events.append(f"fused {name} into {allele[:7]} after {fusion.threshold_for(pmap.settings)} consecutive successes")
        return allele

    def optimise_fusion(self, name: str, inputs: list[dict[str, Any]], kernel_factory: Callable[[], Kernel]) -> str | None:
        """Ask the engine for a better fused gene; it replaces the current one only if it replays it exactly.

        The replay inputs are the given ones plus every input the fused gene has already
        succeeded on; each runs on a fresh kernel from `kernel_factory` for both genes.
        """
        from sggit.genome.alleles import allele_id
        from sggit.runtime import fusion

        entry = self.phenotype().pathways.get(name)
        if entry is None or entry.state != "fused" or not entry.fused_allele:
            raise UsageError(f"pathway {name} is not fused in phenotype {self.phenotype_name}")
        if isinstance(self.engine, NoEngine):
            return None
        current = entry.fused_allele
        pathway = self.tree.pathways[name]
        cases = [dict(i) for i in inputs] + [r.input for r in pending_records(self.genome) if r.allele == current and r.ok and isinstance(r.input, dict)]
        cases = [json.loads(c) for c in dict.fromkeys(json.dumps(c, sort_keys=True) for c in cases)]
        if not cases:
            raise UsageError(f"no inputs to replay {name} on", hint="run the fused pathway first, or give inputs")
        context = MutationContext(
            contract=ContractBrief(locus=name, risk=pathway.risk, does=pathway.does.text if pathway.does else "",
                                   takes=[_field_line(f) for f in pathway.takes],
                                   gives=['ok bool', 'outputs {step: output}', 'failed_step int?', 'error string?']),
            parent=current,
            parent_source=self.source(current),
            error="optimise this fused pathway; it must produce the same outputs and kernel changes",
        )
        for proposal in self.engine.propose(context, count=self.max_mutations):
            problems = source_problems(proposal.source)
            if problems:
                self.events.append(f"{self.engine.name} proposed an invalid fused gene for {name}: {problems[0]}")
                continue
            candidate = allele_id(proposal.source)
            results = fusion.replay(self.pool, (current, self.source(current)), (candidate, proposal.source), cases, kernel_factory, timeout=self.timeout * max(1, len(pathway.steps)))
            failed = [c for c in results if not c.ok]
            if failed:
                self.events.append(f"rejected optimised {name} from {proposal.engine}: replay differs on {json.dumps(failed[0].input, sort_keys=True)}: {failed[0].detail}")
                continue
            lineage = Lineage(locus=name, origin="fusion", parents=[current], engine=proposal.engine, model=proposal.model, replayed=len(results))
            allele = register_allele(self.genome, name, proposal.source, lineage).id
            phenostore.fuse(self.genome, self.phenotype_name, name, allele)
            self.events.append(f"optimised {name}: {allele[:7]} replaces {current[:7]} after replaying {len(results)} input(s)")
            return allele
        return None

    def validator(self, gene: n.Gene, which: str) -> Validator:
        """Compiled once per locus and field list: every call crosses both."""
        key = (gene.name, which)
        found = self._validators.get(key)
        if found is None:
            found = self._validators[key] = compile_validator(gene, which)
        return found

    def validate_input(self, gene: n.Gene, inputs: Any) -> dict[str, Any]:
        try:
            return self.validator(gene, "takes")(inputs)
        except Invalid as exc:
            raise CallerError(f"invalid input for {gene.name}: " + "; ".join(str(v) for v in exc.violations)) from None

    def run_locus(self, locus: str, inputs: Any, *, caller: bool = False, verify: bool = True) -> StepOutcome:
        gene = self.tree.genes.get(locus)
        if gene is None:
            raise UsageError(f"unknown locus {locus}")
        try:
            data = self.validate_input(gene, inputs)
        except CallerError as exc:
            if caller:
                raise
            return StepOutcome(ok=False, error=str(exc))
        failures: list[Attempt] = []
        for allele in self.stack(locus):
            attempt = self.attempt(gene, allele, data, verify=verify)
            if attempt.ok:
                return self._success(gene, attempt)
            failures.append(attempt)
        for attempt in self.mutate(gene, data, failures):
            if attempt.ok:
                return self._success(gene, attempt)
            failures.append(attempt)
        summary = "; ".join(f"{a.allele[:7]}: {a.error}" for a in failures) or "no allele is expressed at this locus"
        return StepOutcome(ok=False, error=f"all alleles of {locus} failed ({summary})", allele=failures[-1].allele if failures else None)

    def _success(self, gene: n.Gene, attempt: Attempt) -> StepOutcome:
        undo = attempt.undo_log

        def rollback() -> list[str]:
            if undo is None:
                return []
            with kernel_lock(self.kernel):
                return [f"{f.entry}: {f.step}: {f.error}" for f in undo.rollback(self.kernel)]

        self.consider_promotion(gene.name)
        return StepOutcome(ok=True, output=attempt.output, allele=attempt.allele, rollback=rollback if undo is not None and len(undo) else None, detail=attempt)

    def transaction(self) -> tuple[UndoLog, Callable[[str, Any, Any], Any]]:
        """A fresh undo log and the gene_sdk handler that fills it (the dispatcher serialises calls per kernel)."""
        undo = UndoLog()
        return undo, make_handler(self.kernel, undo)

    def attempt(self, gene: n.Gene, allele: str, data: dict[str, Any], *, verify: bool = True, origin: str = "stack", record: bool = True) -> Attempt:
        policy = policy_for(gene.risk)
        undo, handler = self.transaction()
        started = time.perf_counter()
        outcome = self.pool.run(allele, self.source(allele), json.dumps(data), handler=handler, timeout=self.timeout)
        attempt = Attempt(locus=gene.name, allele=allele, ok=False, duration_ms=(time.perf_counter() - started) * 1000, origin=origin)
        with self._lock:
            self.trace.append(attempt)
        attempt.undo = [e.op for e in undo.entries]
        if outcome.ok:
            attempt.ok, attempt.output, attempt.error = _judge(gene, outcome.output, self.validator(gene, "gives"))
            attempt.kind = None if attempt.ok else "bad_output"
        else:
            attempt.error = outcome.message or outcome.error
            attempt.kind = outcome.error
        if attempt.ok and verify and gene.verify is not None and self.wait_verify:
            attempt.convergence, attempt.diagnostics = self.verify(gene, data, attempt.output)
            if attempt.convergence is False and policy.convergence_check:
                attempt.ok = False
                attempt.error = "convergence check failed: " + "; ".join(d["summary"] for d in attempt.diagnostics if not d["healthy"])
                attempt.kind = "convergence"
        if not attempt.ok and (policy.transaction or gene.family == "configuration") and len(undo):
            with kernel_lock(self.kernel):
                attempt.undo_failures = [f"{f.entry}: {f.step}: {f.error}" for f in undo.rollback(self.kernel)]
        if attempt.ok:
            attempt.undo_log = undo
        if record:
            self.score(gene, attempt, data)
        return attempt

    def score(self, gene: n.Gene, attempt: Attempt, data: dict[str, Any]) -> None:
        """Immediate and convergence records for the allele that ran; a diagnostic also scores the producers it feeds."""
        immediate_ok = attempt.ok or attempt.kind == "convergence"
        self.append(Record(allele=attempt.allele, locus=gene.name, ok=immediate_ok, timescale="immediate", error=None if immediate_ok else attempt.error, input=data))
        if attempt.convergence is not None:
            self.append(Record(allele=attempt.allele, locus=gene.name, ok=attempt.convergence, timescale="convergence", error=None if attempt.convergence else attempt.error, input=data))
        if not attempt.ok:
            self.consider_demotion(gene.name, attempt.allele)
            return
        if gene.family == "configuration":
            self.producers.record(gene.name, data, attempt.allele)
            if gene.verify is not None and attempt.convergence is None and not self.wait_verify and self._judging() is None:
                self.defer(gene, data, attempt)
        elif gene.feeds and isinstance(attempt.output, dict):
            self.feed(gene, data, bool(attempt.output.get("healthy", True)))

    # -- verification -------------------------------------------------------------
    def verify(self, gene: n.Gene, data: dict[str, Any], output: Any) -> tuple[bool, list[dict[str, Any]]]:
        """Run the contract's verify checks after its window; healthy only if every check is.

        The gene's own allele is judged by the caller (its convergence record), so
        the checks feed every other locus they name but not this one.
        """
        assert gene.verify is not None
        window = gene.verify.window.seconds if gene.verify.window else 0.0
        names = {**data, **(output if isinstance(output, dict) else {})}
        return self.converge(_expand_checks(gene.verify.items, names), window, object_names(data), judged={gene.name})

    def converge(self, checks: list[tuple[str, dict[str, Any]]], window: float, names: list[str], *, judged: set[str] | None = None) -> tuple[bool, Results]:
        """The checks polled until they pass or `window` runs out (sggit.runtime.deadline)."""
        verdict = converge(lambda: self.poll_checks(checks, judged=judged), window, self.kernel,
                           settled=lambda: host_settled(self.kernel), progress=self.progress, label=describe(checks, names), backoff=self.backoff)
        return verdict.healthy, verdict.results

    def poll_checks(self, checks: list[tuple[str, dict[str, Any]]], *, judged: set[str] | None = None) -> tuple[bool, Results, Callable[[], None]]:
        (healthy, results), commit = self.tentatively(lambda: self.run_checks(checks, judged=judged))
        return healthy, results, commit

    def tentatively(self, work: Callable[[], _T]) -> tuple[_T, Callable[[], None]]:
        """Run `work` holding back its records, demotions and events; they count only once committed."""
        self._local.tentative = held = _Held()
        try:
            value = work()
        finally:
            self._local.tentative = None

        def commit() -> None:
            for record in held.records:
                self.append(record)
            self.events.extend(held.events)
            for locus, allele in held.demotions:
                self.consider_demotion(locus, allele)

        return value, commit

    def run_checks(self, checks: list[tuple[str, dict[str, Any]]], *, judged: set[str] | None = None, timescale: str | None = None) -> tuple[bool, list[dict[str, Any]]]:
        """Run diagnostics now; their `feeds:` score the producers (as `timescale` when given)."""
        previous = (getattr(self._local, "judged", None), getattr(self._local, "timescale", None))
        self._local.judged, self._local.timescale = frozenset(judged or ()), timescale
        results: list[dict[str, Any]] = []
        try:
            for locus, params in checks:
                outcome = self.run_locus(locus, params, verify=False)
                healthy = bool(outcome.ok and isinstance(outcome.output, dict) and outcome.output.get("healthy", True))
                summary = f"{locus} {json.dumps(params, sort_keys=True)}: {'healthy' if healthy else (outcome.error or 'unhealthy')}"
                results.append({"locus": locus, "input": params, "output": outcome.output, "healthy": healthy, "summary": summary})
        finally:
            self._local.judged, self._local.timescale = previous
        return all(r["healthy"] for r in results), results

    def _judging(self) -> frozenset[str] | None:
        return getattr(self._local, "judged", None)

    def feed(self, gene: n.Gene, data: dict[str, Any], healthy: bool) -> list[tuple[str, str, str]]:
        """Route a diagnostic's verdict to the allele that produced the state at each fed locus.

        A failure here is retroactive: the producer's immediate result was a
        success, yet its fitness drops and the arena may demote it.
        """
        names = object_names(data)
        judged = self._judging() or frozenset()
        override = getattr(self._local, "timescale", None)
        fed: list[tuple[str, str, str]] = []
        if not names:
            return fed
        for line in gene.feeds:
            timescale = override or line.timescale
            if line.locus in judged or timescale not in ("convergence", "resilience"):
                continue
            allele = self.producers.producer(line.locus, names)
            if allele is None:
                continue
            error = None if healthy else f"{gene.name} {json.dumps(data, sort_keys=True)}: unhealthy"
            self.append(Record(allele=allele, locus=line.locus, ok=healthy, timescale=timescale, error=error, input=data))  # type: ignore[arg-type]
            fed.append((line.locus, allele, timescale))
            if not healthy:
                self._event(f"{gene.name} on {', '.join(names)} unhealthy: {timescale} failure for {line.locus} {allele[:7]}")
                self.consider_demotion(line.locus, allele)
        return fed

    # -- verification windows ----------------------------------------------------------
    def _clock(self) -> tuple[float, str]:
        """Due times live on the mock's virtual clock, or on the wall clock for a real kernel."""
        if isinstance(self.kernel, MockKernel):
            return self.kernel.now(), "virtual"
        return time.time(), "wall"

    def advance(self, seconds: float) -> None:
        """Let time pass: the mock's clock moves, a real kernel sleeps."""
        while seconds > 0:
            step = min(seconds, 3600.0)
            self.kernel.sleep(step)
            seconds -= step

    def defer(self, gene: n.Gene, data: dict[str, Any], attempt: Attempt) -> DueCheck:
        """Record a gene's verify checks as due after its window instead of waiting for them."""
        assert gene.verify is not None
        names = {**data, **(attempt.output if isinstance(attempt.output, dict) else {})}
        now, clock = self._clock()
        window = gene.verify.window.seconds if gene.verify.window else 0.0
        checks = [CheckCall(locus=locus, input=params) for locus, params in _expand_checks(gene.verify.items, names)]
        entry = DueCheck(phenotype=self.phenotype_name, target=gene.name, origin="gene", allele=attempt.allele, input=data, checks=checks, due=now + window, clock=clock)  # type: ignore[arg-type]
        record_due(self.genome, entry)
        self.events.append(f"verify of {gene.name} {attempt.allele[:7]} due in {window:g}s")
        return entry

    def verify_pathway(self, pathway: n.Pathway, values: dict[str, Any]) -> dict[str, Any]:
        """A pathway's `verify:` after its window, or recorded as due with --no-wait; feeds score the producers."""
        assert pathway.verify is not None
        window = pathway.verify.window.seconds if pathway.verify.window else 0.0
        checks = _expand_checks(pathway.verify.items, values)
        if not self.wait_verify:
            now, clock = self._clock()
            entry = DueCheck(phenotype=self.phenotype_name, target=pathway.name, origin="pathway", input=values, checks=[CheckCall(locus=l, input=p) for l, p in checks], due=now + window, clock=clock)  # type: ignore[arg-type]
            record_due(self.genome, entry)
            self.events.append(f"verify of pathway {pathway.name} due in {window:g}s")
            return {"status": "due", "id": entry.id, "due": entry.due, "clock": entry.clock}
        healthy, results = self.converge(checks, window, object_names(values))
        return {"status": "healthy" if healthy else "unhealthy", "healthy": healthy, "checks": results}

    def verify_due(self, *, wait: bool = False) -> list[dict[str, Any]]:
        """Run recorded checks whose window has passed (the mock's clock is moved there)."""
        reports: list[dict[str, Any]] = []
        for entry in sorted(pending_due(self.genome, self.phenotype_name), key=lambda e: e.due):
            now, clock = self._clock()
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
            healthy, results = self.run_checks([(c.locus, c.input) for c in entry.checks], judged={entry.target} if entry.origin == "gene" else None)
            if entry.origin == "gene" and entry.allele:
                error = None if healthy else "convergence check failed: " + "; ".join(r["summary"] for r in results if not r["healthy"])
                self.append(Record(allele=entry.allele, locus=entry.target, ok=healthy, timescale="convergence", error=error, input=entry.input))
                if not healthy:
                    self.consider_demotion(entry.target, entry.allele)
            mark_done(self.genome, DoneCheck(id=entry.id, healthy=healthy, results=results))
            reports.append({**report, "status": "healthy" if healthy else "unhealthy", "checks": results})
        return reports

    # -- resilience ------------------------------------------------------------------------
    def _deployed(self, target: str, kind: str, values: dict[str, Any], result: Any) -> None:
        """Remember a successful run and the diagnostics that judge it, for `sggit watch`."""
        checks: list[tuple[str, dict[str, Any]]] = []
        if kind == "locus":
            gene = self.tree.genes[target]
            if gene.family == "diagnostic":
                checks.append((target, values))
            if gene.verify is not None:
                checks += _expand_checks(gene.verify.items, {**values, **(result if isinstance(result, dict) else {})})
        else:
            pathway = self.tree.pathways[target]
            outputs = {s.number: s.output for s in result.steps if s.status == "ok"}
            for step in pathway.steps:
                if step.number in outputs:
                    checks += self._step_diagnostics(step, values, outputs)
            if pathway.verify is not None:
                checks += _expand_checks(pathway.verify.items, values)
        if checks:
            record_deployment(self.genome, Deployment(phenotype=self.phenotype_name, target=target, kind=kind, input=values, checks=[CheckCall(locus=l, input=p) for l, p in checks]))  # type: ignore[arg-type]

    def _step_diagnostics(self, step: n.Step, values: dict[str, Any], outputs: dict[int, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The diagnostic calls a finished step made: plain, in each loop iteration, or in the branch taken."""
        body = step.body
        runs: list[tuple[n.Call, dict[str, Any]]] = []
        try:
            if isinstance(body, n.Call):
                runs = [(body, values)]
            elif isinstance(body, n.ForStep):
                items = evaluate(body.iterable, values, outputs)
                runs = [(call, {**values, body.var: item}) for item in (items if isinstance(items, list) else []) for call in body.body]
            else:
                flag = bool(resolve_ref(n.Ref(step=body.step, path=list(body.path)), {}, outputs))
                runs = [(b.call, values) for b in body.branches if b.when == flag]
        except ResolveError:
            return []
        found: list[tuple[str, dict[str, Any]]] = []
        for call, names in runs:
            gene = None if call.pathway else self.tree.genes.get(call.target)
            if gene is None or gene.family != "diagnostic":
                continue
            try:
                found.append((gene.name, bind(call.params, names, outputs)))
            except ResolveError:
                continue
        return found

    def watch(self, target: str, every: float, count: int, *, on_round: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """Re-run the diagnostics of every deployment of `target`, `count` times, `every` seconds apart.

        Late results are resilience evidence: they score the producers as resilience
        whatever timescale the feeds line names for convergence.
        """
        deployed = deployments(self.genome, self.phenotype_name, target)
        if not deployed:
            raise UsageError(f"{target} has not been deployed in phenotype {self.phenotype_name}", hint=f"run it first: sggit run {target} --input ...")
        rounds: list[dict[str, Any]] = []
        for number in range(1, count + 1):
            if number > 1:
                self.advance(every)
            for d in deployed:
                healthy, results = self.run_checks([(c.locus, c.input) for c in d.checks], timescale="resilience")
                row = {"round": number, "clock": self._clock()[0], "target": target, "input": d.input, "healthy": healthy, "checks": results}
                rounds.append(row)
                if on_round is not None:
                    on_round(row)
        return rounds

    # -- selection ------------------------------------------------------------------
    def _event(self, message: str) -> None:
        held = getattr(self._local, "tentative", None)
        (held.events if held is not None else self.events).append(message)

    def append(self, record: Record) -> None:
        """Journal a record, and keep this organism's view of fitness current without rereading."""
        held = getattr(self._local, "tentative", None)
        if held is not None:
            held.records.append(record)
            return
        self._journal.append(record)
        with self._lock:
            if self._counters is not None:
                for allele, delta in fold([record], self.genome.host).items():
                    self._counters[allele] = self._counters[allele] + delta if allele in self._counters else delta
            if self._streaks is not None:
                self._streaks.add(record)

    def counters(self) -> dict[str, Counters]:
        """Fitness counters of every allele: read once (all hosts plus the unsynced journal), then kept."""
        with self._lock:
            if self._counters is None:
                self._counters = live_counters(self.genome)
            return self._counters

    def streak(self, allele: str) -> int:
        """Consecutive failures of an allele since its last success, as this host saw them."""
        with self._lock:
            if self._streaks is None:
                self._streaks = failure_streaks(pending_records(self.genome))
            return self._streaks.get(allele, 0)

    def consider_demotion(self, locus: str, allele: str) -> None:
        held = getattr(self._local, "tentative", None)
        if held is not None:
            held.demotions.append((locus, allele))
            return
        pmap = self.phenotype()
        entry = pmap.locus(locus)
        state = entry.alleles.get(allele)
        if state is None or state.state not in ("dominant", "recessive"):
            return
        if state.state == "dominant" and len(entry.stack) < 2:
            return  # nothing to fall back to: keep it expressed and let mutation find a successor
        if self.streak(allele) >= Thresholds.for_locus(pmap, locus).demote_after:
            if phenostore.demote(self.genome, self.phenotype_name, locus, allele):
                self.events.append(f"demoted {locus} {allele[:7]} after repeated failures")

    def consider_promotion(self, locus: str) -> None:
        pmap = self.phenotype()
        entry = pmap.locus(locus)
        gene = self.tree.genes[locus]
        if not policy_for(gene.risk).auto_promote:
            return
        challengers = [a for a in entry.stack if a != entry.dominant]
        if not challengers:
            return
        counters = self.counters()
        found = promotion_candidate(counters, entry.dominant, challengers, Thresholds.for_locus(pmap, locus), entry.weights)
        if found is None:
            return
        allele, score, base = found
        if phenostore.promote(self.genome, self.phenotype_name, locus, allele, fitness=score):
            self.events.append(f"promoted {locus} {allele[:7]} (fitness {score:.2f} over {base:.2f})")

    # -- mutation --------------------------------------------------------------------
    def brief(self, gene: n.Gene) -> ContractBrief:
        return ContractBrief(
            locus=gene.name,
            family=gene.family,
            risk=gene.risk,
            does=gene.does.text if gene.does else "",
            takes=[_field_line(f) for f in gene.takes],
            gives=[_field_line(f) for f in gene.gives],
            before=[b.text for b in gene.before],
            after=[b.text for b in gene.after],
            fails_when=[f"{m.condition} -> {'error' if m.outcome == 'error' else ', '.join(f'{k}={json.dumps(v)}' for k, v in m.assignments.items())}" for m in gene.fails_when],
            unhealthy_when=[b.text for b in gene.unhealthy_when],
            examples=[{"input": e.input, "output": e.output} for e in clean_host_examples(gene)],
        )

    def mutate(self, gene: n.Gene, data: dict[str, Any], failures: list[Attempt]) -> list[Attempt]:
        """Ask the engine for candidates; each that passes the static rules is registered and
        walks the lifecycle (shadow replay, then a canary run that is this call's attempt)."""
        if isinstance(self.engine, NoEngine) or self.max_mutations <= 0 or getattr(self._local, "tentative", None) is not None:
            return []
        parent = failures[-1] if failures else None
        context = MutationContext(
            contract=self.brief(gene),
            parent=parent.allele if parent else None,
            parent_source=self.source(parent.allele) if parent else None,
            failing_input=data,
            error=parent.error if parent else "no allele expressed",
            diagnostics=[d for a in failures for d in a.diagnostics],
            siblings={a: self.source(a) for a in alleles_at(self.genome, gene.name)[:8]},
        )
        attempts: list[Attempt] = []
        with focus(gene):
            proposals = self.engine.propose(context, count=self.max_mutations)
        for proposal in proposals:
            problems = source_problems(proposal.source)
            if problems:
                self.events.append(f"{self.engine.name} proposed an invalid allele for {gene.name}: {problems[0]}")
                continue
            registered = self.register_mutant(gene, proposal, context, parent.allele if parent else None)
            passage = lifecycle.admit(self, gene, registered, data)
            self.events.extend(passage.events)
            attempt = passage.canary or Attempt(
                locus=gene.name, allele=registered, ok=False, origin="shadow", kind="shadow",
                error=next((e for e in passage.shadow_errors if e), "shadow replay failed"),
            )
            attempts.append(attempt)
            if attempt.ok:
                break
        return attempts

    def register_mutant(self, gene: n.Gene, proposal: Proposal, context: MutationContext, parent: str | None) -> str:
        """Blob plus lineage note carrying the whole failure context, engine, model and prompt hash."""
        parent_lineage = read_lineage(self.genome, parent) if parent else None
        lineage = Lineage(
            locus=gene.name,
            origin="mutation",
            parents=[parent] if parent else [],
            engine=proposal.engine,
            model=proposal.model,
            failure=Failure(input=context.failing_input, error=context.error or "", diagnostics=context.diagnostics or None),
            generation=(parent_lineage.generation + 1) if parent_lineage else 1,
            prompt_hash=proposal.prompt_hash,
            note=proposal.note,
        )
        registered = register_allele(self.genome, gene.name, proposal.source, lineage)
        record_proposal(self.genome, registered.id, proposal.source, lineage)
        self.events.append(f"registered mutant {registered.id[:7]} at {gene.name} from {proposal.engine}")
        return registered.id


@dataclass
class _Held:
    """What a tentative poll would have recorded."""

    records: list[Record] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    demotions: list[tuple[str, str]] = field(default_factory=list)


def _field_line(f: n.FieldDecl) -> str:
    default = ""
    if f.default is not None:
        from sggit.contract.fmt import render_value

        default = f" = {render_value(f.default)}"
    desc = f"  {f.description}" if f.description else ""
    return f"{f.name} {f.type.render()}{default}{desc}"


def _judge(gene: n.Gene, raw: str | None, gives: Validator) -> tuple[bool, Any, str | None]:
    """Validate a gene's output against `gives`; a configuration gene reporting success=false failed."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        return False, None, f"output is not JSON: {exc.msg}"
    checked, violations = gives.validate(value)
    if violations:
        return False, value, "output does not match gives: " + "; ".join(str(v) for v in violations[:5])
    if gene.family == "configuration" and isinstance(checked, dict) and checked.get("success") is False:
        return False, checked, f"gene reported failure: {checked.get('error') or 'success=false'}"
    return True, checked, None


def _expand_checks(items: list[n.VerifyItem], names: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if isinstance(item, n.Check):
            out.append((item.locus, bind(item.args, names)))
        elif isinstance(item, n.VerifyFor):
            for value in evaluate(item.iterable, names):
                out.extend(_expand_checks(item.items, {**names, item.var: value}))
    return out
