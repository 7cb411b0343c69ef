from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

INPUT = {"management_bridge": "mgmt", "uplink_interface": "eno1"}
PATHWAY = "provision_management_bridge"
PHENOTYPE = "dell_r740"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def sggit(cwd: Path, *args: str, host: str = "testhost", check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SGGIT_HOST": host}
    done = subprocess.run([sys.executable, "-m", "sggit", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check:
        assert done.returncode == 0, f"sggit {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def sggit_json(cwd: Path, *args: str, host: str = "testhost", check: bool = True) -> dict:
    return json.loads(sggit(cwd, *args, "--format", "json", host=host, check=check).stdout)


def identity(path: Path) -> None:
    git(path, "config", "user.name", "Op")
    git(path, "config", "user.email", "op@example.org")
