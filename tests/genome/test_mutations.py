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
    shown = subprocess.run(["git", "-C", str(genome.workdir), "show", f"{ref}:bridge_stp/{allele[:2]}/{allele[2:]}.py"], capture_output=True, text=True, check=True).stdout
    assert shown == source


def test_a_branch_in_the_flat_layout_is_added_to_without_recording_a_proposal_twice(genome: Genome) -> None:
    """Proposals fan out like the genome branch; one a host recorded flat before is not recorded again."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(genome.workdir), *args], capture_output=True, text=True, check=True).stdout.strip()

    lineage = Lineage(locus="bridge_stp", origin="mutation", engine="gp")
    old_source, new_source = "def execute(input_json):\n    return '{}'\n", "def execute(input_json):\n    return '[]'\n"
    old, new = (str(genome.repo.create_blob(s.encode())) for s in (old_source, new_source))
    ref = mutations_ref(genome.host)

    def mktree(listing: str) -> str:
        return subprocess.run(["git", "-C", str(genome.workdir), "mktree"], input=listing, capture_output=True, text=True, check=True).stdout.strip()

    locus = mktree(f"100644 blob {old}\t{old}.py\n")
    flat = mktree(f"040000 tree {locus}\tbridge_stp\n")
    git("update-ref", ref, git("commit-tree", flat, "-m", "mutation bridge_stp: flat"))
    assert record_proposal(genome, old, old_source, lineage) is None
    assert record_proposal(genome, new, new_source, lineage) is not None
    files = sorted(git("ls-tree", "-r", "--name-only", ref).splitlines())
    assert files == sorted([f"bridge_stp/{old}.py", f"bridge_stp/{new[:2]}/{new[2:]}.py"])
    fsck = subprocess.run(["git", "-C", str(genome.workdir), "fsck", "--strict", "--no-dangling"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
