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
from typing import Any

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
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from sggit.genome.sync import journal, live_counters, pending_records
from sggit.kernel.api import Kernel
from sggit.kernel.dispatch import make_handler
from sggit.kernel.undo import UndoLog
from sggit.runtime import lifecycle
from sggit.runtime.arena import Thresholds, failure_streaks, promotion_candidate
from sggit.runtime.pathway import PathwayResult, PathwayRunner, StepOutcome
from sggit.runtime.evaluate import focus
from sggit.runtime.safety import policy_for
from sggit.runtime.values import bind

RUNNABLE_STATES = ("dominant", "recessive", "canary")


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

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"target": self.target, "kind": self.kind, "ok": self.ok, "output": self.output}
        if self.error:
            data["error"] = self.error
        if self.pathway is not None:
            data["pathway"] = self.pathway.as_json()
        return data


Runner = Callable[..., Any]


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
        self._kernel_lock = threading.RLock()
        self._sources: dict[str, str] = {}
        self._journal = journal(genome)
        self._pmap: tuple[Any, PhenotypeMap] | None = None
        self._validators: dict[tuple[str, str], Validator] = {}
        self._counters: dict[str, Counters] | None = None
        self._streaks: dict[str, int] | None = None

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
            return RunResult(target, "locus", outcome.ok, outcome.output, list(self.trace), error=outcome.error, events=list(self.events))
        if target in self.tree.pathways:
            result = self.run_pathway(target, inputs)
            return RunResult(target, "pathway", result.ok, result.outputs, list(self.trace), pathway=result, events=list(self.events))
        known = sorted(self.tree.genes) + sorted(self.tree.pathways)
        raise UsageError(f"unknown locus or pathway {target}", hint=f"known: {', '.join(known)}")

    def run_pathway(self, name: str, inputs: Any) -> PathwayResult:
        """Late binding: the runner names loci, the phenotype picks the alleles at each call."""
        runner = PathwayRunner(self.tree, lambda locus, params: self.run_locus(locus, params))
        return runner.run(name, inputs)

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
            with self._kernel_lock:
                return [f"{f.entry}: {f.step}: {f.error}" for f in undo.rollback(self.kernel)]

        self.consider_promotion(gene.name)
        return StepOutcome(ok=True, output=attempt.output, allele=attempt.allele, rollback=rollback if undo is not None and len(undo) else None, detail=attempt)

    def attempt(self, gene: n.Gene, allele: str, data: dict[str, Any], *, verify: bool = True, origin: str = "stack", record: bool = True) -> Attempt:
        policy = policy_for(gene.risk)
        undo = UndoLog()
        handler = make_handler(self.kernel, undo)

        def locked_handler(name: str, args: Any, kwargs: Any) -> Any:
            with self._kernel_lock:
                return handler(name, args, kwargs)

        started = time.perf_counter()
        outcome = self.pool.run(allele, self.source(allele), json.dumps(data), handler=locked_handler, timeout=self.timeout)
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
            with self._kernel_lock:
                attempt.undo_failures = [f"{f.entry}: {f.step}: {f.error}" for f in undo.rollback(self.kernel)]
        if attempt.ok:
            attempt.undo_log = undo
        if record:
            self.score(gene, attempt, data)
        return attempt

    def score(self, gene: n.Gene, attempt: Attempt, data: dict[str, Any]) -> None:
        immediate_ok = attempt.ok or attempt.kind == "convergence"
        self.append(Record(allele=attempt.allele, locus=gene.name, ok=immediate_ok, timescale="immediate", error=None if immediate_ok else attempt.error, input=data))
        if attempt.convergence is not None:
            self.append(Record(allele=attempt.allele, locus=gene.name, ok=attempt.convergence, timescale="convergence", error=None if attempt.convergence else attempt.error, input=data))
        if not attempt.ok:
            self.consider_demotion(gene.name, attempt.allele)

    # -- verification -------------------------------------------------------------
    def verify(self, gene: n.Gene, data: dict[str, Any], output: Any) -> tuple[bool, list[dict[str, Any]]]:
        """Run the contract's verify checks after its window; healthy only if every check is."""
        assert gene.verify is not None
        window = gene.verify.window
        if window is not None:
            self.kernel.sleep(window.seconds)
        names = {**data, **(output if isinstance(output, dict) else {})}
        results: list[dict[str, Any]] = []
        for locus, params in _expand_checks(gene.verify.items, names):
            outcome = self.run_locus(locus, params, verify=False)
            healthy = bool(outcome.ok and isinstance(outcome.output, dict) and outcome.output.get("healthy", True))
            summary = f"{locus} {json.dumps(params, sort_keys=True)}: {'healthy' if healthy else (outcome.error or 'unhealthy')}"
            results.append({"locus": locus, "input": params, "output": outcome.output, "healthy": healthy, "summary": summary})
        return all(r["healthy"] for r in results), results

    # -- selection ------------------------------------------------------------------
    def append(self, record: Record) -> None:
        """Journal a record, and keep this organism's view of fitness current without rereading."""
        self._journal.append(record)
        with self._lock:
            if self._counters is not None:
                for allele, delta in fold([record], self.genome.host).items():
                    self._counters[allele] = self._counters[allele] + delta if allele in self._counters else delta
            if self._streaks is not None and record.timescale != "resilience":
                self._streaks[record.allele] = 0 if record.ok else self._streaks.get(record.allele, 0) + 1

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
            examples=[{"input": e.input, "output": e.output} for e in gene.examples],
        )

    def mutate(self, gene: n.Gene, data: dict[str, Any], failures: list[Attempt]) -> list[Attempt]:
        """Ask the engine for candidates; each that passes the static rules is registered and
        walks the lifecycle (shadow replay, then a canary run that is this call's attempt)."""
        if isinstance(self.engine, NoEngine) or self.max_mutations <= 0:
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
        self.events.append(f"registered mutant {registered.id[:7]} at {gene.name} from {proposal.engine}")
        return registered.id


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
            from sggit.runtime.values import evaluate

            for value in evaluate(item.iterable, names):
                out.extend(_expand_checks(item.items, {**names, item.var: value}))
    return out
