"""bench_step, a one-line transform gene, with as many distinct alleles as a test or a benchmark needs.

Tests and benchmarks measure promotion and runs at a crowded locus on the same gene, so both take it from here.
"""

from __future__ import annotations

from pathlib import Path

from sggit.genome import phenostore
from sggit.genome.alleles import NewAllele, register_alleles
from sggit.genome.lineage import Lineage
from sggit.genome.repo import Genome

LOCUS = "bench_step"

GENE = """gene bench_step
  is transform
  risk none

  takes:
    value  int  "a number"

  gives:
    value  int  "the number, one step further"
"""


def step_source(i: int) -> str:
    """An allele that adds one; `i` only makes its text, and so its id, its own."""
    return f"import json\n\n\ndef execute(input_json):\n    return json.dumps({{'value': json.loads(input_json)['value'] + 1}})  # {i}\n"


def crowded_locus(root: Path, n: int, phenotype: str = "dell_r740") -> tuple[Genome, list[str]]:
    """The gene written into ROOT's contracts and N alleles of it registered in the phenotype's stack, the first dominant."""
    (root / "contracts" / "genes" / "bench.sg").write_text(GENE)
    genome = Genome.open(root)
    made = register_alleles(genome, [NewAllele(LOCUS, step_source(i).encode(), Lineage(locus=LOCUS, origin="manual")) for i in range(n)])
    ids = [r.id for r in made]
    phenostore.register_many_in_phenotype(genome, phenotype, LOCUS, ids, "recessive")
    phenostore.promote(genome, phenotype, LOCUS, ids[0])
    return genome, ids
