from __future__ import annotations

import textwrap

from sggit.genome import phenostore
from sggit.genome.alleles import register_allele
from sggit.genome.lineage import Lineage
from sggit.genome.repo import Genome


def add_allele(genome: Genome, locus: str, source: str, *, state: str = "recessive", phenotype: str = "dell_r740") -> str:
    """Register a hand-written allele and express it in the phenotype."""
    allele = register_allele(genome, locus, textwrap.dedent(source), Lineage(locus=locus, origin="manual")).id
    phenostore.register_in_phenotype(genome, phenotype, locus, allele, "recessive")
    if state == "dominant":
        phenostore.promote(genome, phenotype, locus, allele)
    elif state != "recessive":
        phenostore.set_lifecycle(genome, phenotype, locus, allele, state)
    return allele
