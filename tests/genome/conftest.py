from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sggit.genome.repo import Genome
from sggit.shipped import shipped_root
from tests.genome.helpers import SEED_A, SEED_B, SEED_V, git


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fixed host name, and a cwd restored afterwards (`sggit -C` changes it in-process)."""
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Op")
    git(path, "config", "user.email", "op@example.org")
    return path


@pytest.fixture
def genome(repo_dir: Path) -> Genome:
    return Genome.open(repo_dir)


@pytest.fixture
def source_genome(tmp_path: Path) -> Path:
    """The shipped contracts and phenotypes with three tiny seeds of our own."""
    root = tmp_path / "source"
    for sub in ("contracts", "phenotypes"):
        shutil.copytree(shipped_root() / sub, root / sub)
    (root / "genome" / "bridge_create").mkdir(parents=True)
    (root / "genome" / "vlan_create").mkdir(parents=True)
    (root / "genome" / "bridge_create" / "a_first.py").write_text(SEED_A)
    (root / "genome" / "bridge_create" / "b_second.py").write_text(SEED_B)
    (root / "genome" / "vlan_create" / "plain.py").write_text(SEED_V)
    return root
