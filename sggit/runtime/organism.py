"""The organism: the expression core of one phenotype of one genome on one kernel.

The core runs and judges: a locus runs its phenotype's fallback stack, each
attempt called and judged on the one path (`call_allele`, `judge`) inside its
own transaction, and a pathway runs through `PathwayRunner` with the core as its
invoker. Everything else is a collaborator the core hands itself to: the scorer
(journal, fitness, demotion, promotion, feeds), the verifier (`verify:` windows),
the watch (deployments for `sggit watch`), the mutator (engine and lifecycle) and
fused pathways. None of them imports this module.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from sggit.contract import nodes as n
from sggit.contract.tree import ContractTree
from sggit.contract.validate import Invalid, Validator, Violation, compile_validator
from sggit.contract.value_types import ValueType, kernel_refusal, kernel_refusals
from sggit.engines.base import (
    ContractBrief,
    Engine,
    MutationContext,
    NoEngine,
    Proposal,
)
from sggit.errors import SggitError, UsageError
from sggit.genome.alleles import allele_source, alleles_at
from sggit.genome.fitness import Counters
from sggit.genome.phenotype import LocusMap, PhenotypeMap
from sggit.genome.repo import Genome
from sggit.genome.said import failure_detail
from sggit.kernel.api import Kernel
from sggit.kernel.kinds import kind_of
from sggit.runtime.attempt import Attempt, CallerError, RunResult
from sggit.runtime.call import call_allele, judge
from sggit.runtime.deadline import Backoff, Progress
from sggit.runtime.fused import FusedPathways
from sggit.runtime.mutation import Mutation, brief
from sggit.runtime.pathway import PathwayResult, PathwayRunner, StepOutcome
from sggit.runtime.reexpression import Reexpression
from sggit.runtime.safety import policy_for
from sggit.runtime.scoring import Scoring
from sggit.runtime.tip import PhenotypeView
from sggit.runtime.verification import Verification
from sggit.runtime.watch import Watch, unknown_target

__all__ = ["Attempt", "CallerError", "Organism", "RunResult"]

_T = TypeVar("_T")


class _Order:
    """The alleles a locus tries under one map: its stack, then the canaries waiting, found only if the stack runs out.

    Nearly every call ends at the stack's first allele, so looking for canaries
    among every allele the locus holds waits until the stack is exhausted.
    """

    __slots__ = ("_canaries", "_entry", "_waiting")

    def __init__(self, entry: LocusMap, *, canaries: bool) -> None:
        self._entry = entry
        self._canaries = canaries
        self._waiting: list[str] | None = None

    def waiting(self) -> list[str]:
        if self._waiting is None:
            entry = self._entry
            self._waiting = [a for a, s in entry.alleles.items() if s.state == "canary" and a not in entry.stack] if self._canaries else []
        return self._waiting

    def __iter__(self) -> Iterator[str]:
        yield from self._entry.stack
        yield from self.waiting()

    def __bool__(self) -> bool:
        return bool(self._entry.stack) or bool(self.waiting())


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
        timeout: float | None = None,
        wait_verify: bool = True,
        max_mutations: int = 1,
    ) -> None:
        self.genome = genome
        self.tree = tree
        self.phenotype_name = phenotype
        self.kernel = kernel
        self.pool = pool
        self.engine = engine or NoEngine()
        # Unless told, as long as a gene may run on this kind of kernel: the command line's default too.
        self.timeout = kind_of(kernel).gene_timeout() if timeout is None else timeout
        self.wait_verify = wait_verify
        self.max_mutations = max_mutations
        self.trace: list[Attempt] = []
        self.events: list[str] = []
        self._lock = threading.RLock()
        self._sources: dict[str, str] = {}
        self._view = PhenotypeView(genome, phenotype)
        self._pathway_runner: PathwayRunner | None = None
        self.stopping = threading.Event()
        """Set by an interrupted pathway for the steps its threads run: no allele is called after it."""
        self._validators: dict[tuple[str, str], Validator] = {}
        self._refusals: dict[tuple[str, str], tuple[tuple[str, n.TypeRef, ValueType], ...]] = {}
        self.scoring = Scoring(genome, tree, phenotype, self.phenotype, self.events)
        self.verification = Verification(genome, phenotype, kernel, self.scoring, self._check, self.events, wait=wait_verify, validate=self.validate_input)
        self.watching = Watch(genome, tree, phenotype, self.verification)
        self.mutation = Mutation(self)
        self.reexpression = Reexpression(genome, phenotype, self.phenotype, self.scoring.counters, self.events)
        self.fused = FusedPathways(self, self.scoring)

    def close(self) -> None:
        """Close the files the organism keeps open across runs (the fitness journal, the fusion log).

        A process that opens organism after organism would otherwise gain descriptors with
        each; the kernel and the pool belong to whoever opened them. A closed organism may
        still run: it opens the files again.
        """
        self.fused.close()
        self.scoring.close()

    def __enter__(self) -> Organism:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def kernel(self) -> Kernel:
        return self._kernel

    @kernel.setter
    def kernel(self, kernel: Kernel) -> None:
        """A benchmark or test may swap the host between runs; the verifier's clock follows it."""
        self._kernel = kernel
        if hasattr(self, "verification"):
            self.verification.kernel = kernel

    @property
    def progress(self) -> Progress | None:
        """Where verify waits are reported (None: silently)."""
        return self.verification.progress

    @progress.setter
    def progress(self, progress: Progress | None) -> None:
        self.verification.progress = progress

    @property
    def backoff(self) -> Backoff:
        """Delays between the polls of a verify window."""
        return self.verification.backoff

    @backoff.setter
    def backoff(self, backoff: Backoff) -> None:
        self.verification.backoff = backoff

    def tentatively(self, work: Callable[[], _T]) -> tuple[_T, Callable[[], None]]:
        """Run `work` holding back its records, demotions and feed events until the commit (the scorer's)."""
        return self.scoring.tentatively(work)

    def holding(self) -> bool:
        """Inside a tentative poll: no engine is asked, nothing is registered."""
        return self.scoring.holding()

    # -- what is expressed -----------------------------------------------------------
    def phenotype(self) -> PhenotypeMap:
        """The map at the branch tip; re-read only when the tip moved (one ref read per call)."""
        return self._view.map()

    def stack(self, locus: str) -> list[str]:
        """Alleles to try, in order: the phenotype's stack, then canaries; never shadow or deprecated."""
        return list(self._order(locus))

    def _order(self, locus: str) -> Iterable[str]:
        gene = self.tree.genes.get(locus)
        waits = gene is not None and policy_for(gene.risk).review  # at review loci a canary waits for its merge
        order = self._view.derived(("stack", locus, waits), lambda pmap: _Order(pmap.locus(locus), canaries=not waits))
        if not order and not self.phenotype().locus(locus).alleles:
            return alleles_at(self.genome, locus)
        return order

    def counters(self, locus: str) -> dict[str, Counters]:
        """Live fitness of every allele at a locus (all hosts' notes plus this host's journal), kept by the scorer."""
        return self.scoring.counters(locus)

    def source(self, allele: str) -> str:
        with self._lock:
            if allele not in self._sources:
                self._sources[allele] = allele_source(self.genome, allele).decode("utf-8")
            return self._sources[allele]

    def validator(self, gene: n.Gene, which: str) -> Validator:
        """Compiled once per locus and field list: every call crosses both."""
        key = (gene.name, which)
        found = self._validators.get(key)
        if found is None:
            found = self._validators[key] = compile_validator(gene, which)
        return found

    def validate_input(self, gene: n.Gene, inputs: Any) -> dict[str, Any]:
        try:
            data = self.validator(gene, "takes")(inputs)
        except Invalid as exc:
            raise CallerError(f"invalid input for {gene.name}: " + "; ".join(str(v) for v in exc.violations)) from None
        self.refuse(gene, data)
        return data

    def refuse(self, owner: n.Gene | n.Pathway, data: dict[str, Any]) -> None:
        """A value this host's kernel would refuse (`ValueType.refused`) is the caller's error too, not any allele's."""
        key = (owner.kind, owner.name)
        checks = self._refusals.get(key)
        if checks is None:
            checks = self._refusals[key] = kernel_refusals(owner.takes)
        for field, declared, value_type in checks:
            found = kernel_refusal(self.kernel, field, declared, value_type, data.get(field))
            if found is not None:
                raise CallerError(f"invalid input for {owner.name}: {Violation(path=found[0], message=found[1])}")

    def traced(self, attempt: Attempt) -> None:
        with self._lock:
            self.trace.append(attempt)

    # -- running ---------------------------------------------------------------------
    def run(self, target: str, inputs: Any) -> RunResult:
        """A top-level run: its input is validated here, once; a success is remembered for `watch`."""
        self.stopping.clear()
        if target in self.tree.genes:
            data = self.validate_input(self.tree.genes[target], inputs)
            outcome = self.express(self.tree.genes[target], data)
            if outcome.ok:
                self.watching.deployed(target, "locus", data, outcome.output)
            return RunResult(target, "locus", outcome.ok, outcome.output, list(self.trace), error=outcome.error, events=list(self.events))
        if target in self.tree.pathways:
            pathway = self.tree.pathways[target]
            values = self._runner().validate_input(pathway, inputs)
            self.refuse(pathway, values)
            verification = None
            with self.verification.windows(pathway, values):
                result = self.run_pathway(target, values, validated=True)
                if result.ok:
                    self.watching.deployed(target, "pathway", values, result)
                    if pathway.verify is not None:
                        verification = self.verification.verify_pathway(pathway, values, result)
            return RunResult(target, "pathway", result.ok, result.outputs, list(self.trace), pathway=result, events=list(self.events), verification=verification)
        raise unknown_target(self.tree, target)

    def _runner(self) -> PathwayRunner:
        if self._pathway_runner is None:
            self._pathway_runner = PathwayRunner(self.tree, self.run_locus, invoke_pathway=self.run_nested, stopping=self.stopping,
                                                 cancel=getattr(self.pool, "cancel", None))
        return self._pathway_runner

    def run_pathway(self, name: str, inputs: Any, *, validated: bool = False) -> PathwayResult:
        """Late binding: the runner names loci, the phenotype picks the alleles at each call.

        A fused pathway runs as its one fused allele; when that fails, the pathway is
        decomposed and this same input runs step by step, where failures are scored
        per step and mutated. A step-by-step success extends the fusion streak.
        """
        pathway = self.tree.pathways.get(name)
        if pathway is None:
            raise UsageError(f"unknown pathway {name}")
        runner = self._runner()
        values = inputs if validated else runner.validate_input(pathway, inputs)
        entry = self.phenotype().pathways.get(name)
        if entry is not None and entry.state == "fused" and entry.fused_allele:
            fused = self.fused.run(name, entry.fused_allele, values)
            if fused is not None:
                return fused
        result = runner.run(name, values, validated=True)
        self.fused.reinforce(name, result)
        return result

    def run_nested(self, name: str, params: dict[str, Any]) -> StepOutcome:
        """A `-> pathway` step: expressed like any pathway (fused or not), then its own `verify:` runs."""
        try:
            pathway = self.tree.pathways[name]
            values = self._runner().validate_input(pathway, params)
            result = self.run_pathway(name, values, validated=True)
        except SggitError as exc:
            return StepOutcome(ok=False, error=str(exc))
        error = "; ".join(f"step {s.number} ({s.target}): {s.error}" for s in result.failed_steps()) or None
        if result.ok and pathway.verify is not None:
            verification = self.verification.verify_pathway(pathway, values, result)
            self.events.append(f"verify of nested pathway {name}: {verification['status']}")
        return StepOutcome(ok=result.ok, output=result.outputs, error=error, rollback=result.rollback, detail=result)

    def run_locus(self, locus: str, inputs: Any, *, caller: bool = False, verify: bool = True) -> StepOutcome:
        """A locus as a pathway step or a check: invalid input is this step's failure, not an allele's."""
        gene = self.tree.genes.get(locus)
        if gene is None:
            raise UsageError(f"unknown locus {locus}")
        try:
            data = self.validate_input(gene, inputs)
        except CallerError as exc:
            if caller:
                raise
            return StepOutcome(ok=False, error=str(exc))
        return self.express(gene, data, verify=verify)

    def _check(self, locus: str, params: dict[str, Any]) -> StepOutcome:
        return self.run_locus(locus, params, verify=False)

    def express(self, gene: n.Gene, data: dict[str, Any], *, verify: bool = True) -> StepOutcome:
        """The fallback stack on validated input, then mutation when every allele failed."""
        failures: list[Attempt] = []
        stack = self._order(gene.name)
        for allele in stack:
            attempt = self.attempt(gene, allele, data, verify=verify)
            if attempt.ok:
                return self._success(gene, attempt)
            failures.append(attempt)
        for allele in self.reexpression.candidates(gene, exclude=set(stack)):
            attempt = self.attempt(gene, allele, data, verify=verify, origin="re-expressed")
            if attempt.ok:
                self.scoring.decide(functools.partial(self.reexpression.reinstate, gene, allele))
                return self._success(gene, attempt)
            failures.append(attempt)
        for attempt in self.mutation.mutate(gene, data, failures):
            if attempt.ok:
                return self._success(gene, attempt)
            failures.append(attempt)
        summary = "; ".join(f"{a.allele[:7]}: {failure_detail(a.error or 'failed')}" for a in failures) or "no allele is expressed at this locus"
        return StepOutcome(ok=False, error=f"all alleles of {gene.name} failed ({summary})", allele=failures[-1].allele if failures else None)

    def _success(self, gene: n.Gene, attempt: Attempt) -> StepOutcome:
        rollback = attempt.transaction.rollback_action() if attempt.transaction is not None else None
        self.scoring.consider_promotion(gene.name)
        return StepOutcome(ok=True, output=attempt.output, allele=attempt.allele, rollback=rollback, detail=attempt)

    def attempt(self, gene: n.Gene, allele: str, data: dict[str, Any], *, verify: bool = True, origin: str = "stack", record: bool = True) -> Attempt:
        """One allele on validated input: called, judged, verified, undone on failure, scored."""
        if self.stopping.is_set():
            raise KeyboardInterrupt  # in a pathway's thread: the user stopped the run, so no fallback and no next step
        policy = policy_for(gene.risk)
        call = call_allele(self.pool, gene, allele, self.source(allele), data, self.kernel, timeout=self.timeout)
        tx = call.transaction
        if self.stopping.is_set():  # the call was cut short by the user's interrupt: not the allele's failure, never scored
            tx.undo()
            raise KeyboardInterrupt
        verdict = judge(gene, call.outcome, gives=self.validator(gene, "gives"))
        attempt = Attempt(locus=gene.name, allele=allele, ok=verdict.ok, output=verdict.output, error=verdict.error, kind=verdict.kind,
                          duration_ms=call.duration_ms, origin=origin, undo=tx.ops)
        self.traced(attempt)
        if attempt.ok and verify and gene.verify is not None and self.wait_verify:
            attempt.convergence, attempt.diagnostics = self.verification.verify(gene, data, attempt)
            if attempt.convergence is False and policy.convergence_check:
                attempt.ok = False
                attempt.error = "convergence check failed: " + "; ".join(d["summary"] for d in attempt.diagnostics if not d["healthy"])
                attempt.kind = "convergence"
        if not attempt.ok and (policy.transaction or gene.family == "configuration"):
            attempt.undo_failures = tx.undo()
        if attempt.ok:
            attempt.transaction = tx
        if record:
            self.scoring.score(gene, attempt, data)
            deferred = gene.family == "configuration" and gene.verify is not None and attempt.convergence is None
            if attempt.ok and deferred and not self.wait_verify and self.scoring.judged() is None:
                self.verification.defer(gene, data, attempt)
        return attempt

    # -- the collaborators' entry points, as commands call them --------------------------
    def verify_due(self, *, wait: bool = False) -> list[dict[str, Any]]:
        return self.verification.verify_due(wait=wait)

    def watch(self, target: str, every: float, count: int, *, on_round: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        return self.watching.watch(target, every, count, on_round=on_round)

    def fuse(self, name: str, alleles: dict[str, str]) -> str:
        return self.fused.fuse(name, alleles)

    def optimise_fusion(self, name: str, inputs: list[dict[str, Any]], kernel_factory: Callable[[], Kernel]) -> str | None:
        return self.fused.optimise(name, inputs, kernel_factory)

    def brief(self, gene: n.Gene) -> ContractBrief:
        return brief(gene)

    def register_mutant(self, gene: n.Gene, proposal: Proposal, context: MutationContext, parent: str | None) -> str:
        return self.mutation.register(gene, proposal, context, parent)
