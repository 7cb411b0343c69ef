from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sggit.errors import UsageError
from sggit.genome.alleles import register_allele
from sggit.genome.lineage import Lineage
from sggit.genome.repo import GENOME_REF, Genome, host_name
from tests.genome.helpers import SEED_A, SEED_B, git
from tests.helpers import descriptors_into


def test_cas_refuses_a_stale_expectation_and_leaves_no_lock(genome: Genome, repo_dir: Path) -> None:
    first = register_allele(genome, "bridge_create", SEED_A, Lineage(locus="bridge_create", origin="seed"))
    tip = genome.target(GENOME_REF)
    parent_less = genome.repo.create_commit(None, genome.signature(), genome.signature(), "x", genome.repo[tip].tree.id, [])
    assert not genome.compare_and_swap(GENOME_REF, parent_less, genome.repo[tip].parents[0].id if genome.repo[tip].parents else None, "stale")
    assert genome.target(GENOME_REF) == tip
    assert not (repo_dir / ".git" / (GENOME_REF + ".lock")).exists()
    assert genome.compare_and_swap(GENOME_REF, parent_less, tip, "fresh")
    assert git(repo_dir, "rev-parse", "sggit/genome").stdout.strip() == str(parent_less)
    assert first.new


def test_a_ref_lock_left_by_a_killed_writer_is_cleared(genome: Genome, repo_dir: Path) -> None:
    register_allele(genome, "bridge_create", SEED_A, Lineage(locus="bridge_create", origin="seed"))
    lock = repo_dir / ".git" / (GENOME_REF + ".lock")
    lock.write_text("garbage\n")
    old = time.time() - 60
    os.utime(lock, (old, old))
    result = register_allele(genome, "bridge_create", SEED_B, Lineage(locus="bridge_create", origin="manual"))
    assert result.new and not lock.exists()
    assert f"genome/bridge_create/{result.id[:2]}/{result.id[2:]}.py" in git(repo_dir, "ls-tree", "-r", "--name-only", "sggit/genome").stdout


def test_open_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a git repository"):
        Genome.open(tmp_path / "nowhere")


def test_host_name_comes_from_the_environment_and_is_ref_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "rack 4/node:7")
    assert host_name() == "rack_4_node_7"
    monkeypatch.delenv("SGGIT_HOST")
    assert host_name()


def test_the_lock_is_reentrant_within_a_process(genome: Genome) -> None:
    with genome.locked():
        with genome.locked():
            register_allele(genome, "bridge_create", SEED_A, Lineage(locus="bridge_create", origin="seed"))
    assert genome.target(GENOME_REF) is not None


def test_worktrees_share_one_lock_and_journal(genome: Genome, repo_dir: Path, tmp_path: Path) -> None:
    (repo_dir / "f").write_text("x\n")
    git(repo_dir, "add", "f")
    git(repo_dir, "commit", "-qm", "start")
    git(repo_dir, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "other")
    other = Genome.open(tmp_path / "wt")
    assert other.git_dir != genome.git_dir
    assert other.state_dir == genome.state_dir


def test_close_lets_go_of_packfiles_and_the_genome_still_reads(repo_dir: Path) -> None:
    genome = Genome.open(repo_dir)
    allele = register_allele(genome, "bridge_create", SEED_A, Lineage(locus="bridge_create", origin="manual"))
    git(repo_dir, "gc", "-q")
    with Genome.open(repo_dir) as reopened:
        assert reopened.repo[allele.id].data.decode() == SEED_A  # read from the pack
        assert descriptors_into(repo_dir / ".git" / "objects" / "pack") > 0
    assert descriptors_into(repo_dir / ".git" / "objects" / "pack") == 0
    assert reopened.repo[allele.id].data.decode() == SEED_A  # opened again on demand
    reopened.close()
