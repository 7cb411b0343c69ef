"""The organism's fusion collaborator: run a fused pathway, decompose it, reinforce, fuse, optimise.

A fused pathway is one allele called and judged like any other (`call_allele`,
`judge`) in one transaction. When it fails it is rolled back and decomposed, and
the caller runs the same input step by step. Step-by-step successes with the same
alleles extend the streak that fuses the pathway again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sggit.contract import nodes as n
from sggit.engines.base import ContractBrief, MutationContext, NoEngine
from sggit.errors import SggitError, UsageError
from sggit.genes import source_problems
from sggit.genome import phenostore
from sggit.genome.alleles import allele_id, register_allele
from sggit.genome.fitness import Record
from sggit.genome.lineage import Lineage
from sggit.genome.said import failure_detail
from sggit.genome.sync import pending_records
from sggit.kernel.api import Kernel
from sggit.runtime import fusion
from sggit.runtime.attempt import Attempt, Expression
from sggit.runtime.call import FusedOutput, call_allele, judge
from sggit.runtime.fusion_source import mechanical_source
from sggit.runtime.mutation import field_line
from sggit.runtime.pathway import PathwayResult, Rollback, StepReport
from sggit.runtime.scoring import Scoring

FUSED_GIVES = ["ok bool", "outputs {step: output}", "failed_step int?", "error string?"]


class FusedResult(PathwayResult):
    """A fused run as the step-by-step runner reports it, its step reports built only when asked for.

    Most callers of a fused pathway read `ok` and `outputs`; the six reports
    (`fusion.fused_result`) cost as much again as judging the output, so they wait
    for `steps`, `as_json` or `rollback`. The first successful step carries the
    undo of the fused call's transaction, as it would step by step.
    """

    def __init__(self, pathway: n.Pathway, allele: str, output: FusedOutput, rollback: Rollback | None, keys: tuple[str, ...]) -> None:
        self.pathway = pathway.name
        self.status = "ok" if output.ok else "failed"
        self.rollback_errors = []
        self.policies = [p.text for p in pathway.on_failure]
        self._made = (pathway, allele, output, rollback)
        self._keys = keys
        self._steps: list[StepReport] | None = None

    @property  # type: ignore[override]
    def steps(self) -> list[StepReport]:
        if self._steps is None:
            pathway, allele, output, rollback = self._made
            steps = fusion.fused_result(pathway, allele, output).steps
            if rollback is not None:
                next(r for r in steps if r.status == "ok").undo.append(rollback)
            self._steps = steps
        return self._steps

    @steps.setter
    def steps(self, steps: list[StepReport]) -> None:
        self._steps = steps

    @property
    def outputs(self) -> dict[str, Any]:
        if self._steps is not None:
            return super().outputs
        given = self._made[2].outputs
        return {key: given[key] for key in self._keys if key in given}


class FusedPathways:
    def __init__(self, core: Expression, scoring: Scoring) -> None:
        self.core = core
        self.scoring = scoring
        self.reinforcement = fusion.Reinforcement(core.genome, core.phenotype_name)
        self._keys: dict[int, tuple[n.Pathway, tuple[str, ...]]] = {}

    def close(self) -> None:
        self.reinforcement.close()

    def _step_keys(self, pathway: n.Pathway) -> tuple[str, ...]:
        found = self._keys.get(id(pathway))
        if found is None or found[0] is not pathway:
            found = self._keys[id(pathway)] = (pathway, tuple(str(s.number) for s in pathway.steps))
        return found[1]

    def timeout(self, name: str) -> float:
        return self.core.timeout * max(1, len(self.core.tree.pathways[name].steps))

    def run(self, name: str, allele: str, values: dict[str, Any]) -> PathwayResult | None:
        """One worker call for the whole pathway, in one transaction; None after decomposing on failure."""
        core = self.core
        pathway = core.tree.pathways[name]
        call = call_allele(core.pool, pathway, allele, core.source(allele), values, core.kernel, timeout=self.timeout(name))
        verdict = judge(pathway, call.outcome)
        tx = call.transaction
        attempt = Attempt(locus=name, allele=allele, ok=verdict.ok, duration_ms=call.duration_ms, origin="fusion", undo=tx.ops)
        output = verdict.output if isinstance(verdict.output, FusedOutput) else None
        if verdict.ok and output is not None:
            attempt.output = output.outputs
        else:
            attempt.error, attempt.kind = verdict.error, verdict.kind
        core.traced(attempt)
        self.scoring.append(Record(allele=allele, locus=name, ok=attempt.ok, timescale="immediate", error=attempt.error, input=values,
                                  phenotype=core.phenotype_name))
        if attempt.ok and output is not None:
            return FusedResult(pathway, allele, output, tx.rollback_action(), self._step_keys(pathway))
        attempt.undo_failures = tx.undo()
        self.decompose(name, allele, attempt.error or "fused gene failed")
        return None

    def decompose(self, name: str, allele: str, error: str) -> None:
        """Back to step by step: the phenotype records it and the fusion streak starts over."""
        core = self.core
        phenostore.decompose(core.genome, core.phenotype_name, name)
        self.reinforcement.reset(name)
        core.events.append(f"decomposed {name} (fused {allele[:7]} failed: {failure_detail(error)})")

    def reinforce(self, name: str, result: PathwayResult) -> str | None:
        """Count a step-by-step run toward fusion; fuse when the streak reaches the threshold."""
        core = self.core
        if fusion.fusion_problem(core.tree, name) is not None:
            return None
        pmap = core.phenotype()
        if not result.ok and result.failed_steps():
            broken = ", ".join(f"step {s.number} ({s.target})" for s in result.failed_steps())
            if pmap.pathways.get(name) is not None and pmap.pathways[name].state == "decomposed":
                core.events.append(f"{name}: broken step {broken}")
        streak = self.reinforcement.observe(name, result.ok, fusion.alleles_used(result))
        if streak.count < fusion.threshold_for(pmap.settings):
            return None
        return self.fuse(name, streak.alleles)

    def fuse(self, name: str, alleles: dict[str, str]) -> str:
        """Generate the mechanical fused gene from these constituents and express it."""
        core = self.core
        plan = fusion.plan_of(core.tree, name)
        pmap = core.phenotype()
        chosen = dict(alleles)
        for locus in plan["genes"]:
            if locus not in chosen:
                stack = core.stack(locus)
                if not stack:
                    raise SggitError(f"cannot fuse {name}: no allele is expressed at {locus}")
                chosen[locus] = stack[0]
        source = mechanical_source(plan, {locus: core.source(a) for locus, a in chosen.items()}, chosen)
        allele = fusion.register_fused(core.genome, core.phenotype_name, name, source, chosen)
        self.reinforcement.reset(name)
        core.events.append(f"fused {name} into {allele[:7]} after {fusion.threshold_for(pmap.settings)} consecutive successes")
        return allele

    def optimise(self, name: str, inputs: list[dict[str, Any]], kernel_factory: Callable[[], Kernel]) -> str | None:
        """Ask the engine for a better fused gene; it replaces the current one only if it replays it exactly.

        The replay inputs are the given ones plus every input the fused gene has already
        succeeded on; each runs on a fresh kernel from `kernel_factory` for both genes.
        """
        core = self.core
        entry = core.phenotype().pathways.get(name)
        if entry is None or entry.state != "fused" or not entry.fused_allele:
            raise UsageError(f"pathway {name} is not fused in phenotype {core.phenotype_name}")
        engine = core.engine
        if isinstance(engine, NoEngine):
            return None
        current = entry.fused_allele
        pathway = core.tree.pathways[name]
        cases = [dict(i) for i in inputs] + [r.input for r in pending_records(core.genome) if r.allele == current and r.locus == name and r.ok and isinstance(r.input, dict)]
        cases = [json.loads(c) for c in dict.fromkeys(json.dumps(c, sort_keys=True) for c in cases)]
        if not cases:
            raise UsageError(f"no inputs to replay {name} on", hint="run the fused pathway first, or give inputs")
        context = MutationContext(
            contract=ContractBrief(locus=name, risk=pathway.risk, does=pathway.does.text if pathway.does else "",
                                   takes=[field_line(f) for f in pathway.takes], gives=FUSED_GIVES),
            parent=current,
            parent_source=core.source(current),
            error="optimise this fused pathway; it must produce the same outputs and kernel changes",
        )
        for proposal in engine.propose(context, count=core.max_mutations):
            problems = source_problems(proposal.source)
            if problems:
                core.events.append(f"{engine.name} proposed an invalid fused gene for {name}: {problems[0]}")
                continue
            candidate = allele_id(proposal.source)
            results = fusion.replay(core.pool, pathway, (current, core.source(current)), (candidate, proposal.source), cases, kernel_factory, timeout=self.timeout(name))
            failed = [c for c in results if not c.ok]
            if failed:
                core.events.append(f"rejected optimised {name} from {proposal.engine}: replay differs on {json.dumps(failed[0].input, sort_keys=True)}: {failed[0].detail}")
                continue
            lineage = Lineage(locus=name, origin="fusion", parents=[current], engine=proposal.engine, model=proposal.model, replayed=len(results))  # type: ignore[call-arg]  # extra lineage keys: the model allows them
            allele = register_allele(core.genome, name, proposal.source, lineage).id
            phenostore.fuse(core.genome, core.phenotype_name, name, allele)
            core.events.append(f"optimised {name}: {allele[:7]} replaces {current[:7]} after replaying {len(results)} input(s)")
            return allele
        return None
