"""The demos' in-process runner reports what the command line would: output and exit code."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sggit.cli.inprocess import command_line, run_captured


def test_exit_codes_and_output_match_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert run_captured(tmp_path, "init").code == 0
    ok = run_captured(tmp_path, "status", "--format", "json")
    assert ok.code == 0 and json.loads(ok.stdout)["phenotypes"]
    missing = run_captured(tmp_path, "run", "bridge_create", "--input", "@nothere.json")
    assert missing.code == 2 and missing.stdout == ""
    assert "cannot read input file nothere.json" in capfd.readouterr().err
    failed = run_captured(tmp_path, "run", "bridge_uplink", "--phenotype", "dell_r740", "--engine", "none",
                          "--input", json.dumps({"bridge": "nothere0", "uplink": "eno1"}))
    assert failed.code == 1 and json.loads(failed.stdout)["ok"] is False
    assert command_line("run", "x", "--input", '{"a": 1}') == """$ sggit run x --input '{"a": 1}'"""
