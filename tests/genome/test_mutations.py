from __future__ import annotations

import subprocess

from sggit.genome.lineage import Failure, Lineage
from sggit.genome.mutations import mutations_ref, record_proposal
from sggit.genome.repo import Genome


def test_each_proposal_is_one_commit_on_the_hosts_mutation_branch(genome: Genome) -> None:
    source = "def execute(input_json):\n    return input_json\n"
    allele = str(genome.repo.create_blob(source.encode()))
    lineage = Lineage(locus="bridge_stp", origin="mutation", parents=["a" * 40], engine="gp", failure=Failure(input={"bridge": "br0"}, error="boom"))
    first = record_proposal(genome, allele, source, lineage)
    assert first is not None
    assert record_proposal(genome, allele, source, lineage) is None
    ref = mutations_ref(genome.host)
    log = subprocess.run(["git", "-C", str(genome.workdir), "log", "--format=%s%n%(trailers:key=Sggit-Engine,key=Sggit-Parent)", ref], capture_output=True, text=True, check=True).stdout
    assert log.splitlines()[0] == f"mutation bridge_stp: {allele[:12]} from gp"
    assert "Sggit-Engine: gp" in log and f"Sggit-Parent: {'a' * 40}" in log
    shown = subprocess.run(["git", "-C", str(genome.workdir), "show", f"{ref}:bridge_stp/{allele}.py"], capture_output=True, text=True, check=True).stdout
    assert shown == source
