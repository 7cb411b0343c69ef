from __future__ import annotations

import os
import subprocess
from pathlib import Path

SEED_A = "import json\n\n\ndef execute(input_json):\n    return json.dumps({'ok': True, 'seed': 'a'})\n"
SEED_B = "import json\n\n\ndef execute(input_json):\n    return json.dumps({'ok': True, 'seed': 'b'})\n"
SEED_V = "def execute(input_json):\n    return '{}'\n"


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Stock git, to prove that what sggit writes reads with ordinary tools."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=check, capture_output=True, text=True)


def fake_id(n: int) -> str:
    return f"{n:040x}"
