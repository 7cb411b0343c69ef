from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.alleles import register_allele
from sggit.genome.lineage import Lineage
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from sggit.kernel.mock import MockKernel
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import WorkerPool
from sggit.runtime.session import mock_description

# An allele that always fails, and a correct bridge_stp allele an engine may propose.
RAISES = """
import json

def execute(input_json):
    raise RuntimeError("this allele is broken")
"""

STP_FIX = (
    "import json\nimport gene_sdk\n\n"
    "def execute(input_json):\n"
    "    data = json.loads(input_json)\n"
    "    if not any(link['name'] == data['bridge'] for link in gene_sdk.list_links()):\n"
    "        return json.dumps({'success': False, 'changed': False, 'stp_enabled': False, 'error': 'bridge not found'})\n"
    "    gene_sdk.set_stp(data['bridge'], data['enabled'])\n"
    "    return json.dumps({'success': True, 'stp_enabled': data['enabled'], 'error': None})\n"
)


def add_allele(genome: Genome, locus: str, source: str, *, state: str = "recessive", phenotype: str = "dell_r740") -> str:
    """Register a hand-written allele and express it in the phenotype."""
    allele = register_allele(genome, locus, textwrap.dedent(source), Lineage(locus=locus, origin="manual")).id
    phenostore.register_in_phenotype(genome, phenotype, locus, allele, "recessive")
    if state == "dominant":
        phenostore.promote(genome, phenotype, locus, allele)
    elif state != "recessive":
        phenostore.set_lifecycle(genome, phenotype, locus, allele, state)
    return allele


def without_reexpression(genome: Genome, phenotype: str = "dell_r740") -> None:
    """Tests about engines start from "only a broken allele is left": the demoted seeds must not stand in."""
    def edit(pmap: PhenotypeMap) -> PhenotypeMap:
        return pmap.model_copy(update={"settings": {**pmap.settings, "reexpress": 0}})

    phenostore.change_phenotype(genome, phenotype, edit, action="settings", subject="settings: reexpress = 0")



def organism(project: Path, pool: WorkerPool, kernel: MockKernel | None = None, **kwargs: Any) -> tuple[Organism, MockKernel]:
    """The project's dell_r740 organism, on `kernel` or a fresh mock host of the phenotype's description."""
    genome = Genome.open(project)
    if kernel is None:
        kernel = MockKernel(mock_description(genome, "dell_r740"))
    return Organism(genome, load_tree(project / "contracts"), "dell_r740", kernel, pool, **kwargs), kernel
