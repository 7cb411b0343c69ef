from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sggit.shipped import shipped_root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped genome to break on purpose."""
    root = tmp_path / "proj"
    for sub in ("contracts", "phenotypes"):
        shutil.copytree(shipped_root() / sub, root / sub)
    return root
