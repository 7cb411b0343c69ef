"""The genome branch's files: `genome/<locus>/<id[:2]>/<id[2:]>.py`, the flat layout still read, and its migration."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from sggit.genome import phenostore as ps
from sggit.genome.alleles import (
    NewAllele,
    allele_count,
    allele_id,
    allele_path,
    alleles_at,
    loci,
    loci_of,
    locus_of,
    migrate_genome,
    register_allele,
    register_alleles,
    resolve_allele,
)
from sggit.genome.lineage import Lineage, all_lineage, read_lineage
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import GENOME_REF, Genome
from tests.crash import kill_writers
from tests.genome.helpers import flat_genome, fsck_clean, git

FANOUT = re.compile(r"^genome/[a-z_]+/[0-9a-f]{2}/[0-9a-f]{38}\.py$")


def _source(i: int) -> bytes:
    return f"def execute(input_json):\n    return {i!r}\n".encode()


def _batch(locus: str, n: int, offset: int = 0) -> list[NewAllele]:
    return [NewAllele(locus, _source(offset + i), Lineage(locus=locus, origin="manual")) for i in range(n)]


def _files(repo_dir: Path, rev: str = "sggit/genome") -> list[str]:
    return git(repo_dir, "ls-tree", "-r", "--name-only", rev).stdout.split()


@pytest.fixture
def old(genome: Genome, repo_dir: Path) -> dict[str, list[str]]:
    """A genome as sggit kept it before: a phenotype over 300 alleles at one locus and two at another, one source at both."""
    big = [r.id for r in register_alleles(genome, _batch("bridge_create", 300))]
    small = [r.id for r in register_alleles(genome, [*_batch("vlan_create", 1, offset=1000), NewAllele("vlan_create", _source(0), Lineage(locus="vlan_create", origin="manual"))])]
    ps.create_phenotype(genome, PhenotypeMap(name="r740", topology="production_server"))
    ps.register_many_in_phenotype(genome, "r740", "bridge_create", big[:40], "recessive")
    ps.promote(genome, "r740", "bridge_create", big[7])
    ps.register_in_phenotype(genome, "r740", "vlan_create", small[0], "dominant")
    flat_genome(repo_dir)
    return {"bridge_create": sorted(big), "vlan_create": sorted(small)}


def test_a_new_genome_keeps_each_allele_under_two_hex_digits_and_each_registration_rewrites_small_trees(genome: Genome, repo_dir: Path) -> None:
    register_alleles(genome, _batch("bridge_create", 600))
    new = register_allele(genome, "bridge_create", _source(-1), Lineage(locus="bridge_create", origin="manual"))
    files = _files(repo_dir)
    assert len(files) == 601 and all(FANOUT.match(f) for f in files), files[:3]
    assert allele_path("bridge_create", new.id) in files
    assert git(repo_dir, "cat-file", "-p", f"sggit/genome:{allele_path('bridge_create', new.id)}").stdout == _source(-1).decode()
    # the registration's commit: one file added, and every tree it rewrote at most 256 entries wide
    assert git(repo_dir, "diff", "--name-status", "sggit/genome~1", "sggit/genome").stdout.split() == ["A", allele_path("bridge_create", new.id)]
    rewritten = git(repo_dir, "diff-tree", "-r", "-t", "--name-only", "--no-commit-id", "sggit/genome").stdout.split()
    widths = {path: len(git(repo_dir, "ls-tree", f"sggit/genome:{path}").stdout.splitlines()) for path in rewritten if not path.endswith(".py")}
    assert set(widths) == {"genome", "genome/bridge_create", f"genome/bridge_create/{new.id[:2]}"}
    assert widths["genome/bridge_create"] <= 256 and widths[f"genome/bridge_create/{new.id[:2]}"] < 20
    assert alleles_at(genome, "bridge_create") == sorted(f[len("genome/bridge_create/"):-3].replace("/", "") for f in files)
    assert allele_count(genome, "bridge_create") == 601


def test_the_flat_layout_reads_as_it_did_and_reading_commits_nothing(genome: Genome, repo_dir: Path, old: dict[str, list[str]]) -> None:
    tip = genome.target(GENOME_REF)
    files = _files(repo_dir)
    assert len(files) == 302 and not any(FANOUT.match(f) for f in files)
    assert loci(genome) == ["bridge_create", "vlan_create"]
    assert alleles_at(genome, "bridge_create") == old["bridge_create"] and allele_count(genome, "bridge_create") == 300
    shared = allele_id(_source(0))
    assert loci_of(genome, shared) == ["bridge_create", "vlan_create"] and shared in old["vlan_create"]
    some = old["bridge_create"][123]
    assert locus_of(genome, some) == "bridge_create" and resolve_allele(genome, some[:9]) == some
    assert register_allele(genome, "bridge_create", _source(5), Lineage(locus="bridge_create", origin="manual")).new is False
    assert genome.target(GENOME_REF) == tip, "registering what is there writes nothing, not even the migration"


def test_the_first_change_moves_every_flat_file_in_a_commit_of_its_own_and_loses_nothing(genome: Genome, repo_dir: Path, old: dict[str, list[str]]) -> None:
    flat = str(genome.target(GENOME_REF))
    stack = ps.read_phenotype(genome, "r740").loci["bridge_create"].stack
    new = register_allele(genome, "vlan_create", _source(2000), Lineage(locus="vlan_create", origin="manual"))
    log = git(repo_dir, "log", "--format=%s|%(trailers:key=Sggit-Action,valueonly,separator=)", "sggit/genome").stdout.splitlines()
    assert log[:2] == ["register 1 allele(s) at vlan_create|", "genome: keep each allele file under the first two hex digits of its id|migrate"]
    assert git(repo_dir, "rev-parse", "sggit/genome~2").stdout.strip() == flat
    # the migration only renames: every flat file, to its fanout path, with its bytes (R100)
    renames = git(repo_dir, "diff", "-M", "--name-status", "sggit/genome~2", "sggit/genome~1").stdout.splitlines()
    expected = sorted(f"R100\tgenome/{locus}/{a}.py\t{allele_path(locus, a)}" for locus, ids in old.items() for a in ids)
    assert sorted(renames) == expected
    assert git(repo_dir, "diff", "--name-status", "sggit/genome~1", "sggit/genome").stdout.split() == ["A", allele_path("vlan_create", new.id)]
    assert all(FANOUT.match(f) for f in _files(repo_dir))
    fsck_clean(repo_dir)
    # every allele, note and phenotype entry still resolves
    assert alleles_at(genome, "bridge_create") == old["bridge_create"]
    assert alleles_at(genome, "vlan_create") == sorted([*old["vlan_create"], new.id])
    lineage = all_lineage(genome)
    assert all(locus in lineage[a] for locus, ids in old.items() for a in ids)
    pmap = ps.read_phenotype(genome, "r740")
    assert pmap.loci["bridge_create"].stack == stack and len(stack) == 40
    assert all(locus_of(genome, a) == "bridge_create" for a in pmap.loci["bridge_create"].stack)
    assert read_lineage(genome, "vlan_create", pmap.loci["vlan_create"].dominant or "") is not None
    assert migrate_genome(genome) is None


def test_a_merge_with_a_host_not_moved_yet_reads_both_layouts_and_the_next_write_moves_the_rest(genome: Genome, repo_dir: Path) -> None:
    """What `sggit pull` makes of a fanout genome and a flat one: the union of their files, some of each layout."""
    mine = [r.id for r in register_alleles(genome, _batch("bridge_create", 5))]
    fanout = git(repo_dir, "rev-parse", "sggit/genome").stdout.strip()
    theirs = [r.id for r in register_alleles(genome, _batch("bridge_create", 5, offset=100))]
    flat_genome(repo_dir)
    flat_tree = git(repo_dir, "rev-parse", "sggit/genome^{tree}").stdout.strip()
    union = git(repo_dir, "merge-tree", "--write-tree", "--allow-unrelated-histories", fanout, "sggit/genome", check=False).stdout.split()[0]
    assert union != flat_tree
    merged = git(repo_dir, "commit-tree", union, "-p", "sggit/genome", "-p", fanout, "-m", "sggit: merge genome").stdout.strip()
    git(repo_dir, "update-ref", GENOME_REF, merged)
    layouts = {bool(FANOUT.match(f)) for f in _files(repo_dir)}
    assert layouts == {True, False}
    assert alleles_at(genome, "bridge_create") == sorted(set(mine) | set(theirs))
    assert register_allele(genome, "bridge_create", _source(100), Lineage(locus="bridge_create", origin="manual")).new is False
    extra = register_allele(genome, "bridge_create", _source(7), Lineage(locus="bridge_create", origin="manual"))
    assert all(FANOUT.match(f) for f in _files(repo_dir))
    assert alleles_at(genome, "bridge_create") == sorted({*mine, *theirs, extra.id})
    fsck_clean(repo_dir)


def _registering(repo: str, wid: int, seed: int) -> None:
    genome = Genome.open(repo)
    n = 0
    while True:
        n += 1
        register_allele(genome, "vlan_create", _source(10**6 * (wid + 1) + seed * 1000 + n), Lineage(locus="vlan_create", origin="manual"))


@pytest.mark.slow
def test_writers_killed_during_the_migration_leave_either_layout_whole(genome: Genome, repo_dir: Path) -> None:
    ids = {r.id for r in register_alleles(genome, [*_batch("bridge_create", 3000), *_batch("vlan_create", 20, offset=5000)])}
    flat = flat_genome(repo_dir)
    rnd = random.Random(7)
    seen: set[bool] = set()
    for round_no in range(8):
        for stale in (repo_dir / ".git" / "refs").rglob("*.lock"):
            stale.unlink()  # a writer killed holding the ref leaves git's lock, which plain git's reset would refuse
        git(repo_dir, "update-ref", GENOME_REF, flat)
        kill_writers(_registering, [(str(repo_dir), w, round_no) for w in range(2)], rnd.uniform(0.02, 0.5))
        fsck_clean(repo_dir)
        files = _files(repo_dir)
        fanout = {bool(FANOUT.match(f)) for f in files}
        assert len(fanout) == 1, "a tip holds one layout, whole"
        assert fanout == {True} or git(repo_dir, "rev-parse", "sggit/genome").stdout.strip() == flat
        seen |= fanout
        found = set(alleles_at(genome, "bridge_create")) | set(alleles_at(genome, "vlan_create"))
        assert ids <= found
    assert True in seen, "no round got as far as the migration"
