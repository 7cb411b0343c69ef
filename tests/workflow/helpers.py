from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.helpers import sggit

INPUT = {"management_bridge": "mgmt", "uplink_interface": "eno1"}
PATHWAY = "provision_management_bridge"
PHENOTYPE = "dell_r740"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def sggit_json(cwd: Path, *args: str, host: str = "testhost", code: int | None = 0) -> dict:
    return json.loads(sggit(cwd, *args, "--format", "json", host=host, code=code).stdout)


def identity(path: Path) -> None:
    git(path, "config", "user.name", "Op")
    git(path, "config", "user.email", "op@example.org")


ROOT = Path(__file__).resolve().parents[2]


def project_copy(dest: Path) -> str:
    """This project's files (committed or not) as a git repository with one commit; its id.

    Hook and recipe tests install sggit from it as a user installs from sggit's repository.
    """
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, listed.decode().split("\0")):
        src = ROOT / rel
        if rel.startswith(".venv/") or not src.is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    git(dest, "init", "-q")
    identity(dest)
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "sggit")
    return git(dest, "rev-parse", "HEAD")
