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


def fsck_clean(repo: Path) -> None:
    """Stock git finds every object whole and reachable: nothing sggit wrote, or was killed writing, is broken."""
    fsck = git(repo, "fsck", "--full", "--strict", "--no-dangling", check=False)
    assert fsck.returncode == 0 and not fsck.stdout.strip(), fsck.stdout + fsck.stderr
    assert not any(w in (fsck.stdout + fsck.stderr).lower() for w in ("missing", "broken", "corrupt", "error")), fsck.stderr


def fake_id(n: int) -> str:
    return f"{n:040x}"


def flat_genome(repo: Path) -> str:
    """Rewrite sggit/genome as sggit wrote it before the fanout, `genome/<locus>/<id>.py`, with stock git; the commit."""
    listing = git(repo, "ls-tree", "-r", "sggit/genome").stdout.splitlines()
    lines = []
    for line in listing:
        info, path = line.split("\t")
        mode, _, oid = info.split()
        _, locus, *_ = path.split("/")
        lines.append(f"{mode} {oid}\tgenome/{locus}/{oid}.py\n")
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / "flat-index")}
    subprocess.run(["git", "update-index", "--add", "--index-info"], cwd=repo, env=env, input="".join(lines), text=True, check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout.strip()
    (repo / ".git" / "flat-index").unlink()
    commit = git(repo, "commit-tree", tree, "-m", "register alleles (one folder per locus)").stdout.strip()
    git(repo, "update-ref", "refs/heads/sggit/genome", commit)
    return commit
