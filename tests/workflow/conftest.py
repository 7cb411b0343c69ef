from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflow.helpers import git, identity, sggit


@pytest.fixture
def genome_project(tmp_path: Path) -> Path:
    """A committed genome repository made by `sggit init` from the shipped network genome."""
    root = tmp_path / "host-a"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    identity(root)
    sggit(root, "init")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "genome")
    return root
