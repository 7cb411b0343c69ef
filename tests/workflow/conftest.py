from __future__ import annotations

from pathlib import Path

import pytest

from sggit.genome import phenostore
from sggit.genome.alleles import alleles_at, register_allele
from sggit.genome.fitness import Record
from sggit.genome.lineage import Lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import record, sync
from tests.helpers import sggit
from tests.workflow.helpers import PHENOTYPE, git, identity


@pytest.fixture
def genome_project(tmp_path: Path) -> Path:
    """A committed genome repository made by `sggit init` from the shipped network genome."""
    root = tmp_path / "host-a"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    identity(root)
    sggit(root, "init", "--no-hook")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "genome")
    return root


@pytest.fixture
def promotable(genome_project: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A genome where a mutant of check_link_state has earned promotion over the flaky seed."""
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    genome = Genome.open(genome_project)
    locus = "check_link_state"
    seed = alleles_at(genome, locus)[0]
    source = (genome_project / "genome" / locus).glob("*.py").__next__().read_text() + "\n# evolved\n"
    mutant = register_allele(genome, locus, source, Lineage(locus=locus, origin="mutation", parents=[seed], engine="fixture", generation=1)).id
    phenostore.register_in_phenotype(genome, PHENOTYPE, locus, mutant, "recessive")
    for i in range(50):  # the arena's default minimum of invocations
        record(genome, Record(allele=seed, locus=locus, ok=i % 2 == 0, error="flaky"))
        record(genome, Record(allele=mutant, locus=locus, ok=True))
    sync(genome)
    return genome_project, mutant
