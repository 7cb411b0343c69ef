"""Re-expression: alleles outside the stack get one more try before any engine is asked.

The paradigm keeps old alleles so that a failure can be answered by one that
already exists ("re-promoted without invoking the mutation engine"): a deprecated
allele, or one registered at the locus but never expressed in this phenotype,
may be the only one that handles an unusual kind of input.
"""

from __future__ import annotations

from collections.abc import Callable

from sggit.contract import nodes as n
from sggit.genome import phenostore
from sggit.genome.alleles import alleles_at
from sggit.genome.fitness import Counters, fitness
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from sggit.runtime import review
from sggit.runtime.arena import Thresholds
from sggit.runtime.safety import policy_for


class Reexpression:
    def __init__(self, genome: Genome, phenotype_name: str, phenotype: Callable[[], PhenotypeMap],
                 counters: Callable[[str], dict[str, Counters]], events: list[str]) -> None:
        self.genome = genome
        self.phenotype_name = phenotype_name
        self.phenotype = phenotype
        self.counters = counters
        self.events = events

    def candidates(self, gene: n.Gene, exclude: set[str]) -> list[str]:
        """Deprecated alleles and registered-but-unexpressed ones, most fit first, at most `[settings] reexpress`.

        Shadow and canary alleles are still on their way in; at a locus that
        demands review only reviewed alleles qualify.
        """
        pmap = self.phenotype()
        limit = Thresholds.for_locus(pmap, gene.name).reexpress
        if limit <= 0:
            return []
        entry = pmap.locus(gene.name)
        idle = [a for a, s in entry.alleles.items() if s.state == "deprecated"]
        idle += [a for a in alleles_at(self.genome, gene.name) if a not in entry.alleles]
        idle = [a for a in dict.fromkeys(idle) if a not in exclude]
        if idle and policy_for(gene.risk).review:
            approved = review.reviewed(self.genome, self.phenotype_name, gene.name, idle)
            idle = [a for a in idle if a in approved]
        counters = self.counters(gene.name)
        idle.sort(key=lambda a: -(fitness(counters[a], entry.weights) if a in counters else 0.0))
        return idle[:limit]

    def reinstate(self, gene: n.Gene, allele: str) -> None:
        """A re-expressed allele that handled the input rejoins the stack as recessive, to earn its way up."""
        entry = self.phenotype().locus(gene.name)
        if allele in entry.alleles:
            changed = phenostore.set_lifecycle(self.genome, self.phenotype_name, gene.name, allele, "recessive")
        else:
            changed = phenostore.register_in_phenotype(self.genome, self.phenotype_name, gene.name, allele, "recessive")
        if changed:
            self.events.append(f"re-expressed {gene.name} {allele[:7]}: it handled what the stack could not, now recessive")
