from __future__ import annotations

from pathlib import Path

import pytest

from sggit.errors import SggitError, UsageError
from sggit.genome import phenostore as ps
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from tests.genome.helpers import fake_id, git

A, B = fake_id(10), fake_id(11)


@pytest.fixture
def r740(genome: Genome) -> Genome:
    ps.create_phenotype(genome, PhenotypeMap(name="r740", topology="production_server", bindings={"nic": ["eno1"]}))
    ps.register_in_phenotype(genome, "r740", "bridge_create", A, "dominant")
    ps.register_in_phenotype(genome, "r740", "bridge_create", B, "recessive")
    return genome


def test_each_change_is_one_commit_with_trailers_stock_git_reads(r740: Genome, repo_dir: Path) -> None:
    ps.promote(r740, "r740", "bridge_create", B, fitness=0.8125)
    log = git(repo_dir, "log", "--format=%(trailers:key=Sggit-Action,valueonly,separator=)|%(trailers:key=Sggit-Allele,valueonly,separator=)|%(trailers:key=Sggit-Fitness,valueonly,separator=)", "phenotype/r740").stdout.split()
    assert log == [f"promote|{B}|0.8125", f"register|{B}|", f"register|{A}|", "create||"]
    message = git(repo_dir, "log", "-1", "--format=%B", "phenotype/r740").stdout
    trailers = ps.parse_trailers(message)
    assert trailers["Sggit-Locus"] == "bridge_create" and trailers["Sggit-Action"] == "promote"
    a_file, b_file = (f"phenotypes/r740/bridge_create/{x[:2]}/{x[2:]}.toml" for x in (A, B))
    assert git(repo_dir, "ls-tree", "-r", "--name-only", "phenotype/r740").stdout.split() == ["phenotypes/r740.toml", a_file, b_file]
    head = git(repo_dir, "show", "phenotype/r740:phenotypes/r740.toml").stdout
    assert f'[loci.bridge_create]\ndominant = "{B}"\n' in head
    assert git(repo_dir, "show", f"phenotype/r740:{b_file}").stdout == 'state = "dominant"\n'
    assert git(repo_dir, "show", f"phenotype/r740:{a_file}").stdout == 'state = "recessive"\nrank = 1\n'


def test_a_promotion_diff_touches_the_head_line_and_the_two_alleles_files_only(genome: Genome, repo_dir: Path) -> None:
    """However many alleles a locus holds, a change rewrites only the files of the alleles it moves."""
    ids = [fake_id(100 + i) for i in range(300)]
    ps.create_phenotype(genome, PhenotypeMap(name="r740", topology="production_server"))
    ps.register_many_in_phenotype(genome, "r740", "bridge_create", ids, "recessive")
    ps.promote(genome, "r740", "bridge_create", ids[0])
    ps.promote(genome, "r740", "bridge_create", ids[150])
    stat = git(repo_dir, "diff", "--numstat", "phenotype/r740~1", "phenotype/r740").stdout.splitlines()
    changed = {line.split("\t")[2]: (int(line.split("\t")[0]), int(line.split("\t")[1])) for line in stat}
    path = "phenotypes/r740/bridge_create/{0}/{1}.toml".format
    assert changed == {"phenotypes/r740.toml": (1, 1), path(ids[0][:2], ids[0][2:]): (2, 1), path(ids[150][:2], ids[150][2:]): (1, 2)}
    stack = ps.read_phenotype(genome, "r740").loci["bridge_create"].stack
    assert stack == [ids[150], ids[0], *ids[1:150], *ids[151:]]
    # stock git reverts it, and the map reads back as before the promotion
    git(repo_dir, "checkout", "-q", "phenotype/r740")
    git(repo_dir, "-c", "user.name=t", "-c", "user.email=t@t", "revert", "--no-edit", "HEAD")
    git(repo_dir, "update-ref", "refs/heads/phenotype/r740", "HEAD")
    assert ps.read_phenotype(genome, "r740").loci["bridge_create"].stack == ids


def test_a_change_that_changes_nothing_makes_no_commit(r740: Genome, repo_dir: Path) -> None:
    before = git(repo_dir, "rev-parse", "phenotype/r740").stdout
    assert ps.promote(r740, "r740", "bridge_create", A) is None
    assert ps.register_in_phenotype(r740, "r740", "bridge_create", B) is None
    assert git(repo_dir, "rev-parse", "phenotype/r740").stdout == before


def test_rollback_reverts_the_last_change_as_a_revert_commit(r740: Genome, repo_dir: Path) -> None:
    ps.promote(r740, "r740", "bridge_create", B)
    commit = ps.rollback(r740, "r740")
    assert ps.read_phenotype(r740, "r740").loci["bridge_create"].dominant == A
    body = git(repo_dir, "log", "-1", "--format=%B", "phenotype/r740").stdout
    promoted = git(repo_dir, "rev-parse", "phenotype/r740~1").stdout.strip()
    assert body.startswith('Revert "promote bridge_create') and f"This reverts commit {promoted}." in body
    assert ps.parse_trailers(body)["Sggit-Action"] == "rollback"
    assert git(repo_dir, "rev-parse", "phenotype/r740").stdout.strip() == commit
    assert git(repo_dir, "diff", "phenotype/r740~2", "phenotype/r740").stdout == ""


def test_rollback_of_a_named_older_change(r740: Genome, repo_dir: Path) -> None:
    ps.fuse(r740, "r740", "create_verified_bridge", A)
    register_b = git(repo_dir, "rev-parse", "phenotype/r740~1").stdout.strip()
    ps.rollback(r740, "r740", register_b)
    pmap = ps.read_phenotype(r740, "r740")
    assert pmap.loci["bridge_create"].stack == [A]
    assert pmap.pathways["create_verified_bridge"].fused_allele == A


def test_rollback_refuses_what_it_cannot_do(r740: Genome, repo_dir: Path) -> None:
    root = git(repo_dir, "rev-list", "--max-parents=0", "phenotype/r740").stdout.strip()
    with pytest.raises(UsageError, match="nothing before it"):
        ps.rollback(r740, "r740", root)
    with pytest.raises(UsageError):
        ps.rollback(r740, "r740", "no-such-commit")
    with pytest.raises(UsageError, match="no phenotype"):
        ps.rollback(r740, "nope")


def test_history_is_newest_first_with_actions(r740: Genome) -> None:
    ps.demote(r740, "r740", "bridge_create", A)
    actions = [c.action for c in ps.history(r740, "r740")]
    assert actions == ["demote", "register", "register", "create"]
    assert ps.phenotype_names(r740) == ["r740"]


def test_rollback_of_a_change_that_later_changes_build_on_is_refused(r740: Genome, repo_dir: Path) -> None:
    register_b = git(repo_dir, "rev-parse", "phenotype/r740").stdout.strip()
    ps.promote(r740, "r740", "bridge_create", B)
    with pytest.raises(SggitError, match="loci.bridge_create"):
        ps.rollback(r740, "r740", register_b)
    assert ps.read_phenotype(r740, "r740").loci["bridge_create"].dominant == B


@pytest.mark.parametrize("damage", [b"", b'{"split": true, "head": {"name": "r7', b"\0" * 64], ids=["empty", "torn", "zeroed"])
def test_a_map_cache_a_power_loss_tore_is_read_past_and_written_anew(r740: Genome, damage: bytes) -> None:
    """The map caches are written without fsync, so after a power loss they may hold anything short of the whole."""
    from sggit.genome.views import status

    before = ps.read_phenotype(r740, "r740").model_dump()
    summary = status(r740, "r740").model_dump()
    caches = sorted((r740.state_dir / "cache").glob("phenotype-r740-*.json"))
    assert {p.name.rsplit(".", 2)[1] for p in caches} == {"map", "summary"}
    for path in caches:
        path.write_bytes(damage)
    assert ps.read_phenotype(r740, "r740").model_dump() == before
    assert ps.read_map_data(r740, "r740")["loci"]["bridge_create"]["dominant"] == A
    assert status(r740, "r740").model_dump() == summary
    assert all(path.read_bytes() not in (damage, b"") for path in caches), "the caches were not written anew"
