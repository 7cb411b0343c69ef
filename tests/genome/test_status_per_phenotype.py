"""`status` under a phenotype shows what the dominant earned there, and the fleet-wide figure beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import sg_in


def row(repo: Path, phenotype: str, locus: str) -> dict:
    out = json.loads(sg_in(repo, "status", "--phenotype", phenotype, "--format", "json").output)
    return next(r for ph in out["phenotypes"] for r in ph["loci"] if r["locus"] == locus)


def test_runs_under_one_phenotype_are_not_shown_as_anothers(repo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "h1")
    sg_in(repo_dir, "init")
    for name in ("br1", "br2"):
        sg_in(repo_dir, "run", "bridge_create", "--phenotype", "dell_r740", "--input", json.dumps({"bridge_name": name, "interfaces": []}))
    dell, supermicro = row(repo_dir, "dell_r740", "bridge_create"), row(repo_dir, "supermicro_x11", "bridge_create")
    assert dell["dominant"] == supermicro["dominant"]  # one seed leads both
    assert dell["invocations"] == 2 and dell["invocations_all"] == 2
    assert supermicro["invocations"] == 0 and supermicro["invocations_all"] == 2
    assert supermicro["fitness"] == 0.0 and dell["fitness"] > 0
    sg_in(repo_dir, "sync")  # the breakdown travels through the notes
    assert row(repo_dir, "supermicro_x11", "bridge_create")["invocations"] == 0
    text = sg_in(repo_dir, "status", "--phenotype", "supermicro_x11").output
    line = next(line for line in text.splitlines() if line.strip().startswith("bridge_create"))
    assert "0 calls  (all phenotypes:" in line and "2 calls)" in line


def test_one_call_is_one_call(repo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "h1")
    sg_in(repo_dir, "init")
    sg_in(repo_dir, "run", "bridge_create", "--phenotype", "dell_r740", "--input", json.dumps({"bridge_name": "br1", "interfaces": []}))
    text = sg_in(repo_dir, "status", "--phenotype", "dell_r740").output
    line = next(line for line in text.splitlines() if line.strip().startswith("bridge_create"))
    assert line.endswith("     1 call"), line
    other = sg_in(repo_dir, "status", "--phenotype", "supermicro_x11").output
    line = next(line for line in other.splitlines() if line.strip().startswith("bridge_create"))
    assert "0 calls  (all phenotypes:" in line and line.endswith(", 1 call)"), line
