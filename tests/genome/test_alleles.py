from __future__ import annotations

import json
from pathlib import Path

import pytest

from sggit.errors import SggitError, UsageError
from sggit.genome.alleles import NewAllele, alleles_at, locus_of, register_allele, register_alleles, resolve_allele
from sggit.genome.lineage import Lineage, read_lineage
from sggit.genome.repo import Genome
from tests.genome.helpers import SEED_A, SEED_B, git


def _seed(locus: str, origin: str = "seed", **kw) -> Lineage:
    return Lineage(locus=locus, origin=origin, **kw)


def test_allele_id_is_the_blob_id_and_the_file_is_named_by_it(genome: Genome, repo_dir: Path) -> None:
    (repo_dir / "a.py").write_text(SEED_A)
    expected = git(repo_dir, "hash-object", "a.py").stdout.strip()
    result = register_allele(genome, "bridge_create", SEED_A, _seed("bridge_create"))
    assert result.id == expected and result.new
    listing = git(repo_dir, "ls-tree", "-r", "--name-only", "sggit/genome").stdout.split()
    assert listing == [f"genome/bridge_create/{expected[:2]}/{expected[2:]}.py"]
    assert git(repo_dir, "cat-file", "-p", f"sggit/genome:genome/bridge_create/{expected[:2]}/{expected[2:]}.py").stdout == SEED_A
    note = json.loads(git(repo_dir, "notes", "--ref", "sggit/lineage", "show", expected).stdout)
    assert note["origin"] == "seed" and note["locus"] == "bridge_create" and note["host"] == "testhost"


def test_registering_again_changes_nothing_and_keeps_the_first_lineage(genome: Genome, repo_dir: Path) -> None:
    first = register_allele(genome, "bridge_create", SEED_A, _seed("bridge_create"))
    commits = git(repo_dir, "rev-list", "--all", "--count").stdout
    again = register_allele(genome, "bridge_create", SEED_A, _seed("bridge_create", origin="manual"))
    assert not again.new and again.id == first.id
    assert git(repo_dir, "rev-list", "--all", "--count").stdout == commits
    assert read_lineage(genome, "bridge_create", first.id).origin == "seed"


def test_a_batch_is_one_genome_commit_and_one_notes_commit(genome: Genome, repo_dir: Path) -> None:
    batch = [NewAllele("vlan_create", f"def execute(x):\n    return {i!r}\n".encode(), _seed("vlan_create")) for i in range(50)]
    results = register_alleles(genome, batch)
    assert len({r.id for r in results}) == 50
    assert git(repo_dir, "rev-list", "--count", "sggit/genome").stdout.strip() == "1"
    assert git(repo_dir, "rev-list", "--count", "refs/notes/sggit/lineage").stdout.strip() == "1"
    assert alleles_at(genome, "vlan_create") == sorted(r.id for r in results)


def test_the_users_index_and_working_tree_are_never_touched(genome: Genome, repo_dir: Path) -> None:
    (repo_dir / "tracked.txt").write_text("one\n")
    git(repo_dir, "add", "tracked.txt")
    git(repo_dir, "commit", "-qm", "start")
    (repo_dir / "tracked.txt").write_text("uncommitted edit\n")
    (repo_dir / "staged.txt").write_text("staged\n")
    git(repo_dir, "add", "staged.txt")
    before = (git(repo_dir, "status", "--porcelain").stdout, git(repo_dir, "rev-parse", "HEAD").stdout, git(repo_dir, "diff", "--cached").stdout)
    register_allele(genome, "bridge_create", SEED_A, _seed("bridge_create"))
    after = (git(repo_dir, "status", "--porcelain").stdout, git(repo_dir, "rev-parse", "HEAD").stdout, git(repo_dir, "diff", "--cached").stdout)
    assert before == after
    assert (repo_dir / "tracked.txt").read_text() == "uncommitted edit\n"


def test_prefixes_resolve_and_bad_ones_are_usage_errors(genome: Genome) -> None:
    a = register_allele(genome, "bridge_create", SEED_A, _seed("bridge_create")).id
    assert resolve_allele(genome, a[:7]) == a
    assert resolve_allele(genome, a.upper()) == a
    assert locus_of(genome, a) == "bridge_create"
    with pytest.raises(UsageError):
        resolve_allele(genome, a[:6])
    with pytest.raises(UsageError):
        resolve_allele(genome, "not-hex-at-all")
    missing = "0" * 40 if not a.startswith("0000000") else "f" * 40
    with pytest.raises(SggitError, match="no registered allele"):
        resolve_allele(genome, missing[:9])


def test_lineage_must_name_the_same_locus(genome: Genome) -> None:
    with pytest.raises(UsageError):
        register_allele(genome, "bridge_create", SEED_A, _seed("vlan_create"))
    with pytest.raises(UsageError):
        register_allele(genome, "bad locus", SEED_A, _seed("bad locus"))


def test_genome_trees_of_two_clones_merge_without_conflict(tmp_path: Path, repo_dir: Path) -> None:
    origin = Genome.open(repo_dir)
    register_allele(origin, "bridge_create", SEED_A, _seed("bridge_create"))
    clone_a, clone_b = tmp_path / "a", tmp_path / "b"
    for clone in (clone_a, clone_b):
        git(tmp_path, "clone", "-q", str(repo_dir), str(clone))
        git(clone, "fetch", "-q", "origin", "sggit/genome:sggit/genome")
    register_allele(Genome.open(clone_a), "bridge_create", SEED_B, _seed("bridge_create", origin="manual"))
    register_allele(Genome.open(clone_b), "bridge_create", SEED_B.replace("'b'", "'c'"), _seed("bridge_create", origin="manual"))
    register_allele(Genome.open(clone_b), "bridge_create", SEED_B, _seed("bridge_create", origin="manual"))
    git(clone_a, "fetch", "-q", str(clone_b), "sggit/genome:theirs")
    merged = git(clone_a, "merge-tree", "--write-tree", "sggit/genome", "theirs", check=False)
    assert merged.returncode == 0, merged.stdout
    tree = merged.stdout.split()[0]
    files = git(clone_a, "ls-tree", "-r", "--name-only", tree).stdout.split()
    assert len(files) == 3


def test_allele_id_is_known_before_writing(genome: Genome) -> None:
    from sggit.genome.alleles import allele_id

    predicted = allele_id(SEED_B)
    assert predicted not in genome.repo
    assert register_allele(genome, "bridge_create", SEED_B, _seed("bridge_create")).id == predicted
