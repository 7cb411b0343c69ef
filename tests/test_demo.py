"""`make demo` end to end: what it promises a first-time user actually happens."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sggit.demo import run_demo
from sggit.genome import phenostore
from sggit.genome.repo import Genome


def test_demo_initialises_runs_and_shows_history(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "demo-host")
    root = tmp_path / "genome"
    assert run_demo(root) == 0
    out = capsys.readouterr().out
    assert "$ sggit init" in out and "registered 12 seed allele(s)" in out
    assert "$ sggit run provision_management_bridge" in out
    genome = Genome.open(root)
    assert set(phenostore.phenotype_names(genome)) == {"dell_r740", "supermicro_x11"}
    log = subprocess.run(["git", "-C", str(root), "log", "--format=%s", "phenotype/dell_r740"], capture_output=True, text=True, check=True).stdout
    assert "create phenotype dell_r740 for production_server" in log
    assert "refs/notes/sggit/fitness/demo-host" in out
