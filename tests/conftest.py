"""What every test starts from: the built-in domains installed (the contract package knows none), and a fresh genome."""

from __future__ import annotations

from pathlib import Path

import pytest

from sggit import domains
from sggit.genome.init import init_project

domains.install()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh genome repository initialised from the shipped network genome, on host testhost."""
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    root = tmp_path / "genome"
    init_project(root)
    return root
