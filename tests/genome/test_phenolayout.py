"""The phenotype map's files: a small head and one file per allele, the single-file layout still read."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sggit.errors import SggitError, UsageError
from sggit.genome import phenostore as ps
from sggit.genome import phenotype as ph
from sggit.genome.phenolayout import assign_ranks, read_files, read_tree, write_tree
from sggit.genome.phenotype import PhenotypeMap, dump_phenotype, set_state
from sggit.genome.repo import Genome
from tests.genome.helpers import fake_id, git
from tests.helpers import sg

IDS = [fake_id(0xA0 + i) for i in range(6)]


def _single_file_branch(genome: Genome, repo_dir: Path) -> PhenotypeMap:
    """A branch as sggit wrote it before: the whole map in phenotypes/r740.toml, committed with stock git."""
    pmap = PhenotypeMap(name="r740", topology="production_server", bindings={"nic": ["eno1"]})
    for i, allele in enumerate(IDS[:4]):
        pmap = set_state(pmap, "bridge_create", allele, "dominant" if i == 0 else "recessive") or pmap
    pmap = set_state(pmap, "bridge_create", IDS[4], "deprecated") or pmap
    git(repo_dir, "checkout", "-q", "--orphan", "phenotype/r740")
    (repo_dir / "phenotypes").mkdir()
    (repo_dir / "phenotypes" / "r740.toml").write_text(dump_phenotype(pmap))
    git(repo_dir, "add", "phenotypes/r740.toml")
    git(repo_dir, "commit", "-qm", "the map as one file")
    git(repo_dir, "checkout", "-q", "--detach")
    return pmap


def test_a_single_file_map_reads_and_its_first_change_migrates_in_a_commit_of_its_own(genome: Genome, repo_dir: Path) -> None:
    old = _single_file_branch(genome, repo_dir)
    assert ps.read_phenotype(genome, "r740") == old
    ps.promote(genome, "r740", "bridge_create", IDS[2])
    actions = git(repo_dir, "log", "--format=%(trailers:key=Sggit-Action,valueonly,separator=)", "phenotype/r740").stdout.split()
    assert actions == ["promote", "migrate"]
    migrated = git(repo_dir, "rev-parse", "phenotype/r740~1").stdout.strip()
    tree = genome.repo[migrated].peel(pygit2.Commit).tree
    assert read_tree(genome.repo, tree, "r740", "m").pmap == old  # the migration changes no meaning
    head = git(repo_dir, "show", f"{migrated}:phenotypes/r740.toml").stdout
    assert "stack" not in head and "alleles" not in head and f'dominant = "{IDS[0]}"' in head
    deprecated = f"phenotypes/r740/bridge_create/{IDS[4][:2]}/{IDS[4][2:]}.toml"
    assert git(repo_dir, "show", f"{migrated}:{deprecated}").stdout == 'state = "deprecated"\n'
    # the change after it touches the head line and the two alleles it moves
    changed = git(repo_dir, "diff", "--name-only", "phenotype/r740~1", "phenotype/r740").stdout.split()
    assert changed == sorted(["phenotypes/r740.toml", *(f"phenotypes/r740/bridge_create/{a[:2]}/{a[2:]}.toml" for a in (IDS[0], IDS[2]))])
    assert ps.read_phenotype(genome, "r740").loci["bridge_create"].stack == [IDS[2], IDS[0], IDS[1], IDS[3]]


def test_rolling_back_the_first_change_after_a_migration_restores_the_map(genome: Genome, repo_dir: Path) -> None:
    old = _single_file_branch(genome, repo_dir)
    ps.register_in_phenotype(genome, "r740", "bridge_create", IDS[5])
    ps.rollback(genome, "r740")
    assert ps.read_phenotype(genome, "r740") == old
    assert git(repo_dir, "diff", "phenotype/r740~2", "phenotype/r740").stdout == ""


def test_an_allele_file_in_error_is_named_with_its_problem(genome: Genome, repo_dir: Path) -> None:
    ps.create_phenotype(genome, PhenotypeMap(name="r740", topology="production_server"))
    ps.register_many_in_phenotype(genome, "r740", "bridge_create", IDS[:3], "recessive")
    git(repo_dir, "checkout", "-q", "phenotype/r740")
    bad = repo_dir / f"phenotypes/r740/bridge_create/{IDS[1][:2]}/{IDS[1][2:]}.toml"
    bad.write_text('state = "recessive"\n')
    with pytest.raises(SggitError, match=rf"{bad}: rank: a recessive allele needs its place in the stack"):
        read_files(repo_dir / "phenotypes" / "r740.toml")
    git(repo_dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "lose a rank")
    git(repo_dir, "checkout", "-q", "--detach")
    with pytest.raises(SggitError, match=r"phenotypes/r740/bridge_create/00/0+a1\.toml: rank: a recessive allele needs"):
        ps.read_phenotype(genome, "r740")


def test_sggit_check_reads_a_checked_out_map_with_its_allele_files(genome: Genome, repo_dir: Path) -> None:
    ps.create_phenotype(genome, PhenotypeMap(name="r740", topology="production_server"))
    ps.register_many_in_phenotype(genome, "r740", "bridge_create", IDS[:3], "recessive")
    ps.promote(genome, "r740", "bridge_create", IDS[0])
    git(repo_dir, "checkout", "-q", "phenotype/r740")
    sg("check", "--syntax-only", str(repo_dir / "phenotypes"))
    one = repo_dir / f"phenotypes/r740/bridge_create/{IDS[2][:2]}/{IDS[2][2:]}.toml"
    one.write_text('state = "dominant"\n')
    bad = sg("check", "--syntax-only", str(one), code=1)
    assert f"{repo_dir / 'phenotypes' / 'r740.toml'}:" in bad.output and f"{IDS[2][:12]} is missing from the stack" in bad.output


def test_ranks_keep_what_still_fits_and_renumber_only_what_cannot() -> None:
    a, b, c, d, x = "a", "b", "c", "d", "x"
    old = {a: 1, b: 2, c: 3}
    assert assign_ranks([a, b, c, x], old) == {a: 1, b: 2, c: 3, x: 4}  # registered: appended
    assert assign_ranks([x, a, b, c], old) == {x: 0, a: 1, b: 2, c: 3}  # an old dominant leads the fallbacks
    assert assign_ranks([b, c], old) == {b: 2, c: 3}  # promoted out of the recessives
    assert assign_ranks([a, x, d, b, c], {a: 1, b: 5, c: 6}) == {a: 1, x: 2, d: 3, b: 5, c: 6}  # room between
    assert assign_ranks([a, x, b], {a: 1, b: 2}) == {a: 1, x: 2, b: 3}  # no room: renumbered
    assert assign_ranks([c, b, a], old) == {c: 1, b: 2, a: 3}  # reordered: renumbered


_OP = st.tuples(st.sampled_from(["dominant", "recessive", "shadow", "canary", "deprecated", "demote"]), st.sampled_from(IDS[:4]))


@settings(max_examples=60, deadline=None)
@given(st.lists(_OP, max_size=20))
def test_any_sequence_of_changes_written_file_by_file_reads_back_the_same_map(tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, str]]) -> None:
    repo = pygit2.init_repository(str(tmp_path_factory.mktemp("layout")), bare=True)
    pmap = PhenotypeMap(name="r740", topology="t")
    tree_id, stored = write_tree(repo, None, "r740", None, pmap)
    for action, allele in ops:
        try:
            new = ph.demote(pmap, "l", allele) if action == "demote" else ph.set_state(pmap, "l", allele, action)
        except UsageError:
            continue
        if new is None:
            continue
        tree_id, stored = write_tree(repo, repo[tree_id], "r740", stored, new)
        pmap = new
        read = read_tree(repo, repo[tree_id], "r740", "t")
        assert read.pmap == pmap
        assert read.ranks_of("l") == stored.ranks_of("l")
