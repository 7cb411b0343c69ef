"""`sggit generate LOCUS -n N`: proactive generation, from the contract alone.

Unlike a repair there is no parent and no failure, so the engine gets the
generation prompt (N deliberately different approaches), not the repair prompt.
Each candidate that passes the static screen is registered with its lineage and
walks the lifecycle its locus's risk allows:

- shadow: every contract example, each on a fresh host of the phenotype (the
  same judge as `sggit test`, host states included);
- then, where the risk table demands a canary (high and critical), it waits as
  canary (for its review, then one real run in a transaction); everywhere else it
  enters the fallback stack as recessive and earns fitness. Dominance stays the arena's call where risk
  allows, and a reviewed `sggit promote` elsewhere.

An engine that proposes nothing (gp repairs a failing allele and has nothing to
start from) is an error, not an empty success.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sggit.engines.base import Engine, MutationContext, NoEngine
from sggit.errors import SggitError, UsageError
from sggit.genes import source_problems
from sggit.runtime import lifecycle
from sggit.runtime.conformance import run_example
from sggit.runtime.organism import Organism
from sggit.runtime.safety import policy_for


class NothingGenerated(SggitError):
    """The engine wrote no allele; exit 1."""


@dataclass
class Generated:
    allele: str
    engine: str
    state: str
    passed: int
    total: int
    errors: list[str | None] = field(default_factory=list)


def generation_context(organism: Organism, locus: str) -> MutationContext:
    """The contract alone: no parent, no failing input, no error (the engines' generation mode)."""
    return MutationContext(contract=organism.brief(organism.tree.genes[locus]))


def generate(organism: Organism, locus: str, engine: Engine, *, count: int = 3) -> list[Generated]:
    gene = organism.tree.genes.get(locus)
    if gene is None:
        raise UsageError(f"unknown locus {locus}", hint=f"known: {', '.join(sorted(organism.tree.genes))}")
    if isinstance(engine, NoEngine):
        raise UsageError("generate needs a mutation engine", hint="choose --engine auto, anthropic or fixture")
    context = generation_context(organism, locus)
    proposals = [p for p in engine.propose(context, count=count)[:count] if not source_problems(p.source)]
    if not proposals:
        why = " (gp repairs a failing allele; it cannot write one from the contract alone)" if engine.name == "gp" else ""
        raise NothingGenerated(f"the {engine.name} engine proposed no allele for {locus}{why}",
                               hint="use --engine anthropic (or auto with ANTHROPIC_API_KEY set), or heal an existing allele")
    kernels = lifecycle.fresh_kernels(organism)
    after_shadow = "canary" if policy_for(gene.risk).canary else "recessive"
    out: list[Generated] = []
    for proposal in proposals:
        allele = organism.register_mutant(gene, proposal, context, None)
        lifecycle.set_state(organism, locus, allele, "shadow")
        errors = [run_example(gene, allele, proposal.source, example, organism.pool, kernels(), timeout=min(organism.timeout, 2.0))
                  for example in gene.examples]
        state = "shadow"
        if all(e is None for e in errors):
            state = after_shadow
            lifecycle.set_state(organism, locus, allele, state)
        out.append(Generated(allele, proposal.engine, state, sum(e is None for e in errors), len(errors), errors))
    return out
