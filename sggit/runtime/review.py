"""Which alleles a reviewer approved, for loci whose risk says nothing else may lead.

An allele has a reviewed history when people wrote it (a seed on the main branch,
or one registered by hand: both are reviewed like code), or when a promotion
commit that demanded review (`Sggit-Review: required`, written only on
`sggit/promote/...` branches) reached the phenotype branch: the runtime never
fast-forwards such a commit itself, so its presence means someone merged it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sggit.genome import phenostore
from sggit.genome.lineage import read_lineage
from sggit.genome.repo import Genome

EVOLVED_ORIGINS = ("mutation", "crossover", "fusion")
REVIEW_TRAILER = "Sggit-Review"


def merged_reviews(genome: Genome, phenotype: str, locus: str) -> set[str]:
    """Alleles that a reviewed promotion put at the head of `locus` on the phenotype branch."""
    return {
        change.trailers.get("Sggit-Allele", "")
        for change in phenostore.history(genome, phenotype)
        if change.trailers.get(REVIEW_TRAILER) == "required" and change.trailers.get("Sggit-Locus") == locus
    }


def reviewed(genome: Genome, phenotype: str, locus: str, alleles: Iterable[str]) -> set[str]:
    """The members of `alleles` with a reviewed history at `locus`."""
    out: set[str] = set()
    pending: list[str] = []
    for allele in alleles:
        lineage = read_lineage(genome, locus, allele)
        if lineage is not None and lineage.origin not in EVOLVED_ORIGINS:
            out.add(allele)
        else:
            pending.append(allele)
    if pending:
        merged = merged_reviews(genome, phenotype, locus)
        out.update(a for a in pending if a in merged)
    return out
