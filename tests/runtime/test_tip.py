"""The phenotype view follows its branch tip however the ref is stored and whoever moves it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.repo import Genome
from sggit.kernel.mock import MockKernel
from sggit.runtime.organism import Organism
from sggit.runtime.tip import PhenotypeView, racy_window
from tests.runtime.helpers import add_allele

SOURCE = "import json\n\ndef execute(input_json):\n    return json.dumps({'healthy': True, 'n': %d})\n"


def test_stack_follows_a_promotion_by_another_writer(project: Path) -> None:
    genome = Genome.open(project)
    org = Organism(genome, load_tree(project / "contracts"), "dell_r740", MockKernel(), pool=None)
    before = org.stack("check_link_state")
    challenger = add_allele(Genome.open(project), "check_link_state", SOURCE % 1)
    assert org.stack("check_link_state") == [*before, challenger]
    phenostore.promote(Genome.open(project), "dell_r740", "check_link_state", challenger)
    assert org.stack("check_link_state")[0] == challenger
    assert org.phenotype().locus("check_link_state").dominant == challenger


def test_packed_refs_fall_back_to_libgit2(project: Path) -> None:
    genome = Genome.open(project)
    view = PhenotypeView(genome, "dell_r740")
    loose = project / ".git" / phenostore.phenotype_ref("dell_r740")
    assert loose.exists() and view.tip() == str(genome.target(view.ref))
    subprocess.run(["git", "pack-refs", "--all"], cwd=project, check=True)
    assert not loose.exists()
    assert view.tip() == str(Genome.open(project).target(view.ref))
    first = view.map()
    allele = add_allele(Genome.open(project), "check_link_state", SOURCE % 2)
    assert loose.exists() and view.tip() == str(Genome.open(project).target(view.ref))
    assert allele in view.map().locus("check_link_state").alleles and allele not in first.locus("check_link_state").alleles


def test_derived_values_are_recomputed_when_the_tip_moves(project: Path) -> None:
    genome = Genome.open(project)
    view = PhenotypeView(genome, "dell_r740")
    calls: list[str | None] = []

    def count(pmap: object) -> int:
        calls.append(view.tip())
        return len(calls)

    assert view.derived("k", count) == 1 and view.derived("k", count) == 1
    add_allele(Genome.open(project), "check_link_state", SOURCE % 3)
    assert view.derived("k", count) == 2


def _update_ref(project: Path, ref: str, target: str) -> None:
    subprocess.run(["git", "update-ref", ref, target], cwd=project, check=True)


def test_a_ref_file_is_trusted_by_its_stat_only_once_it_is_older_than_the_clock_tick(project: Path) -> None:
    """File times come from a coarse clock: a ref rewritten within one tick of being read could keep its times."""
    genome = Genome.open(project)
    view = PhenotypeView(genome, "dell_r740")
    first = view.tip()
    add_allele(Genome.open(project), "check_link_state", SOURCE % 4)
    second = view.tip()
    assert second != first and view._seen is None  # just written: read again next time, whatever its stat says
    time.sleep(0.15)
    assert view.tip() == second and view._seen is not None and view._seen[1] == second
    assert first is not None
    _update_ref(project, view.ref, first)  # plain git, by rename: another inode
    assert view.tip() == first


def test_a_ref_rewritten_in_place_with_its_old_mtime_is_still_seen(project: Path) -> None:
    genome = Genome.open(project)
    view = PhenotypeView(genome, "dell_r740")
    loose = project / ".git" / phenostore.phenotype_ref("dell_r740")
    old = view.tip()
    add_allele(Genome.open(project), "check_link_state", SOURCE % 5)
    new = view.tip()
    assert old is not None and new is not None
    time.sleep(0.15)
    assert view.tip() == new and view._seen is not None  # trusted by its stat from here on
    before = loose.stat()
    loose.write_text(old + "\n")  # same inode, same size
    os.utime(loose, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert loose.stat().st_ino == before.st_ino and loose.stat().st_mtime_ns == before.st_mtime_ns
    assert view.tip() == old  # its ctime moved


def test_whole_second_file_times_are_trusted_only_after_two_seconds(tmp_path: Path) -> None:
    """A file system keeping whole seconds gives two rewrites in one second the same times."""
    coarse = os.stat_result((0o100644, 1, 1, 1, 0, 0, 41, 1, 1, 1, 0, 0, 0, 1_700_000_000 * 10**9, 1_700_000_000 * 10**9, 1_700_000_000 * 10**9))
    fine = os.stat_result((0o100644, 1, 1, 1, 0, 0, 41, 1, 1, 1, 0, 0, 0, 1_700_000_000_123_456_789, 1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    assert racy_window(coarse) > 2 * 10**9 and racy_window(fine) == 10**8


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def coarse_dir(tmp_path: Path):
    """A directory on ext4 with 128-byte inodes, which keep whole-second file times."""
    if os.geteuid() != 0 or shutil.which("mkfs.ext4") is None:
        pytest.skip("needs root and mkfs.ext4 to mount a file system keeping whole-second times")
    image, mount = tmp_path / "coarse.img", tmp_path / "coarse"
    mount.mkdir()
    with open(image, "wb") as handle:
        handle.truncate(16 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-I", "128", str(image)], check=True, capture_output=True)
    if subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot loop-mount a file system here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_promotion_in_the_same_second_is_seen_where_file_times_are_whole_seconds(coarse_dir: Path) -> None:
    repo = coarse_dir / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    ids = []
    for message in "ABC":
        _git(repo, "commit", "-q", "--allow-empty", "-m", message)
        ids.append(_git(repo, "rev-parse", "HEAD"))
    genome = Genome.open(repo)
    ref = phenostore.phenotype_ref("coarse")
    while time.time() % 1 > 0.05:  # early in a second, so the updates below fall in the same one
        time.sleep(0.005)
    _git(repo, "update-ref", ref, ids[0])
    view = PhenotypeView(genome, "coarse")
    time.sleep(0.3)
    assert view.tip() == ids[0]
    st = (repo / ".git" / ref).stat()
    assert st.st_mtime_ns % 10**9 == 0, "this file system keeps finer times than whole seconds"
    _git(repo, "update-ref", ref, ids[1])
    _git(repo, "update-ref", ref, ids[2])
    assert view.tip() == ids[2]
