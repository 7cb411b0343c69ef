"""The organism's mutator: when a whole stack failed, ask the engine, register, walk the lifecycle.

The engine gets the failure context the paradigm asks for (contract brief, parent
source, failing input, error, diagnostics, siblings); each candidate that passes
the static rules is registered with its lineage and goes through shadow replay
and a canary run, which is this call's attempt.
"""

from __future__ import annotations

import json
from typing import Any

from sggit.contract import nodes as n
from sggit.contract.value_types import VALUE_TYPES
from sggit.engines.base import ContractBrief, MutationContext, NoEngine, Proposal
from sggit.genes import source_problems
from sggit.genome.alleles import alleles_at, register_allele
from sggit.genome.lineage import Failure, Lineage, read_lineage
from sggit.genome.mutations import record_proposal
from sggit.runtime import lifecycle
from sggit.runtime.attempt import Attempt, Expression
from sggit.runtime.conformance import clean_host_examples
from sggit.runtime.evaluate import focus


def field_line(f: n.FieldDecl) -> str:
    default = ""
    if f.default is not None:
        from sggit.contract.fmt import render_value

        default = f" = {render_value(f.default)}"
    desc = f"  {f.description}" if f.description else ""
    domain_type = VALUE_TYPES.get(f.type.base_name())  # the prompt says what a domain's type admits
    note = f" ({domain_type.description})" if domain_type is not None else ""
    return f"{f.name} {f.type.render()}{note}{default}{desc}"


def brief(gene: n.Gene) -> ContractBrief:
    """The parts of a contract an engine reasons with."""
    return ContractBrief(
        locus=gene.name,
        family=gene.family,
        risk=gene.risk,
        does=gene.does.text if gene.does else "",
        takes=[field_line(f) for f in gene.takes],
        gives=[field_line(f) for f in gene.gives],
        before=[b.text for b in gene.before],
        after=[b.text for b in gene.after],
        fails_when=[f"{m.condition} -> {'error' if m.outcome == 'error' else ', '.join(f'{k}={json.dumps(v)}' for k, v in m.assignments.items())}" for m in gene.fails_when],
        unhealthy_when=[b.text for b in gene.unhealthy_when],
        examples=[{"input": e.input, "output": e.output} for e in clean_host_examples(gene)],
    )


class Mutation:
    """Reads the engine from the core at each call: a command may choose it after opening."""

    def __init__(self, core: Expression) -> None:
        self.core = core

    def mutate(self, gene: n.Gene, data: dict[str, Any], failures: list[Attempt]) -> list[Attempt]:
        """Ask the engine for candidates; each that passes the static rules is registered and
        walks the lifecycle (shadow replay, then a canary run that is this call's attempt)."""
        core = self.core
        engine = core.engine
        if isinstance(engine, NoEngine) or core.max_mutations <= 0 or core.holding():
            return []  # a held-back verify poll decides nothing, so it breeds nothing
        parent = failures[-1] if failures else None
        context = MutationContext(
            contract=brief(gene),
            parent=parent.allele if parent else None,
            parent_source=core.source(parent.allele) if parent else None,
            failing_input=data,
            error=parent.error if parent else "no allele expressed",
            diagnostics=[d for a in failures for d in a.diagnostics],
            siblings={a: core.source(a) for a in alleles_at(core.genome, gene.name)[:8]},
        )
        attempts: list[Attempt] = []
        with focus(gene):
            proposals = engine.propose(context, count=core.max_mutations)
        for proposal in proposals:
            problems = source_problems(proposal.source)
            if problems:
                core.events.append(f"{engine.name} proposed an invalid allele for {gene.name}: {problems[0]}")
                continue
            registered = self.register(gene, proposal, context, parent.allele if parent else None)
            passage = lifecycle.admit(core, gene, registered, data, parent=parent.allele if parent else None)
            core.events.extend(passage.events)
            attempt = passage.canary or Attempt(
                locus=gene.name, allele=registered, ok=False, origin="shadow", kind="shadow",
                error=next((e for e in passage.shadow_errors if e), "shadow replay failed"),
            )
            attempts.append(attempt)
            if attempt.ok:
                break
        return attempts

    def register(self, gene: n.Gene, proposal: Proposal, context: MutationContext, parent: str | None) -> str:
        """Blob plus lineage note carrying the whole failure context, engine, model and prompt hash."""
        genome = self.core.genome
        parent_lineage = read_lineage(genome, gene.name, parent) if parent else None
        lineage = Lineage(  # type: ignore[call-arg]  # extra lineage keys: the model allows them
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
        registered = register_allele(genome, gene.name, proposal.source, lineage)
        record_proposal(genome, registered.id, proposal.source, lineage)
        self.core.events.append(f"registered mutant {registered.id[:7]} at {gene.name} from {proposal.engine}")
        return registered.id
