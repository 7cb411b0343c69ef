"""In a fresh process (no test conftest), every command that checks contracts sees the domains' resource kinds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def sggit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sggit", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, "SGGIT_HOST": "testhost"})


def test_init_register_check_and_plan_on_the_shipped_genome(tmp_path: Path) -> None:
    root = tmp_path / "g"
    init = sggit(tmp_path, "init", str(root))
    assert init.returncode == 0, init.stderr
    (root / "mine.py").write_text("import json\n\ndef execute(input_json):\n    return json.dumps({})\n")
    register = sggit(root, "register", "bridge_create", "mine.py", "--phenotype", "dell_r740")
    assert register.returncode == 0, register.stderr
    assert "registered" in register.stdout
    check = sggit(root, "check", "contracts")
    assert check.returncode == 0, check.stdout + check.stderr
    plan = sggit(root, "plan", "production_server", "--phenotype", "dell_r740")
    assert plan.returncode == 0, plan.stderr
    assert "provision_management_bridge" in plan.stdout
