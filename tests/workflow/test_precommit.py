"""The real pre-commit tool running this repository's hooks on a scratch genome repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import sggit
from tests.workflow.helpers import ROOT, git, identity, project_copy

PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed (it is in the dev extra)")]

BAD_IMPORT = '''import os


def execute(input_json):
    return os.getcwd()
'''

WRONG_OUTPUT = '''import json


def execute(input_json):
    return json.dumps({"success": True, "changed": True, "resources_created": ["somewhere-else"]})
'''


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This project's files (committed or not) as a git repository with one commit, as a pinned hook repository is."""
    dest = tmp_path_factory.mktemp("hook-repo")
    return dest, project_copy(dest)


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the whole session: pre-commit builds it on first use."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "PRE_COMMIT_HOME": str(home), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "SGGIT_HOST": "testhost"}


def run_hook(project: Path, hook_repo: tuple[Path, str], home: Path, hook: str) -> subprocess.CompletedProcess[str]:
    """A hook through a config naming the hook repository and rev, as a user pins it.

    The hook environment is kept in PRE_COMMIT_HOME, so the session builds it once
    (`pre-commit try-repo` would build one for every call, 15-30 s each).
    """
    repo, ref = hook_repo
    config = project.parent / "hooks-config.yaml"
    config.write_text(f"repos:\n  - repo: {repo}\n    rev: {ref}\n    hooks:\n      - id: {hook}\n")
    return subprocess.run([PRE_COMMIT, "run", "--config", str(config), "--verbose"], cwd=project, capture_output=True, text=True, env=_env(home))


def _break_contract(project: Path) -> str:
    path = project / "contracts/genes/bridge_create.sg"
    original = path.read_text()
    lines = original.splitlines(keepends=True)
    path.write_text(lines[0] + "  bogus line here\n" + "".join(lines[1:]))
    return original


def test_broken_contract_blocks_with_located_error_and_fixed_one_passes(genome_project: Path, hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    original = _break_contract(genome_project)
    git(genome_project, "add", "-A")
    done = run_hook(genome_project, hook_repo, pre_commit_home, "sggit-check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "contracts/genes/bridge_create.sg:2:3: error: unexpected `bogus`" in done.stdout

    (genome_project / "contracts/genes/bridge_create.sg").write_text(original.replace("risk low", "risk low  # reviewed"))
    git(genome_project, "add", "-A")
    done = run_hook(genome_project, hook_repo, pre_commit_home, "sggit-check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed" in done.stdout


def test_fmt_hook_rewrites_and_fails_like_a_formatter(genome_project: Path, hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    path = genome_project / "contracts/genes/bridge_uplink.sg"
    canonical = path.read_text()
    path.write_text(canonical.rstrip("\n") + "\n\n\n\n")
    git(genome_project, "add", "-A")
    done = run_hook(genome_project, hook_repo, pre_commit_home, "sggit-fmt")
    assert done.returncode == 1
    assert "files were modified by this hook" in done.stdout
    assert path.read_text() == canonical
    git(genome_project, "add", "-A")
    assert run_hook(genome_project, hook_repo, pre_commit_home, "sggit-fmt").returncode == 0


def test_gene_hook_rejects_imports_outside_allowlist_and_unknown_loci(genome_project: Path, hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    (genome_project / "genome/bridge_create/b_bad.py").write_text(BAD_IMPORT)
    (genome_project / "genome/bridge_craete").mkdir()
    (genome_project / "genome/bridge_craete/x.py").write_text(WRONG_OUTPUT)
    git(genome_project, "add", "-A")
    done = run_hook(genome_project, hook_repo, pre_commit_home, "sggit-check-genes")
    assert done.returncode == 1
    assert "genome/bridge_create/b_bad.py:1:1: error: import of os is outside the allowlist" in done.stdout
    assert "genome/bridge_craete/ names no locus of this genome" in done.stdout
    assert "did you mean bridge_create?" in done.stdout


def test_test_hook_runs_examples_against_touched_alleles(genome_project: Path, hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    (genome_project / "genome/bridge_create/b_wrong.py").write_text(WRONG_OUTPUT)
    git(genome_project, "add", "-A")
    done = run_hook(genome_project, hook_repo, pre_commit_home, "sggit-test")
    assert done.returncode == 1
    assert 'genome/bridge_create/b_wrong.py (bridge_create): example 1: resources_created: expected ["br-example"], got ["somewhere-else"]' in done.stdout
    (genome_project / "genome/bridge_create/b_wrong.py").unlink()
    git(genome_project, "add", "-A")
    (genome_project / "contracts/genes/bridge_create.sg").write_text((genome_project / "contracts/genes/bridge_create.sg").read_text() + "# touched\n")
    git(genome_project, "add", "-A")
    done = run_hook(genome_project, hook_repo, pre_commit_home, "sggit-test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 allele(s) at 1 locus/loci, 0 failing example(s)" in done.stdout


def _initialised(tmp_path: Path, home: Path) -> tuple[Path, dict[str, str]]:
    """`sggit init` in a fresh repository, with pre-commit available: it installs the git hook itself."""
    env = _env(home)
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    identity(root)
    done = sggit(root, "init", env=env)
    assert "installed the pre-commit git hook" in done.stdout
    return root, env


def test_init_installs_the_hook_and_a_broken_contract_is_reported_once_and_left_alone(tmp_path: Path, pre_commit_home: Path) -> None:
    root, env = _initialised(tmp_path, pre_commit_home)
    git(root, "add", "-A")
    first = subprocess.run(["git", "commit", "-qm", "genome"], cwd=root, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "sggit check (contracts and phenotype files)" in first.stdout + first.stderr, "the hooks ran on the first commit"
    _break_contract(root)
    broken = (root / "contracts/genes/bridge_create.sg").read_text()
    git(root, "add", "-A")
    head = git(root, "rev-parse", "HEAD")
    done = subprocess.run(["git", "commit", "-m", "broken"], cwd=root, env=env, capture_output=True, text=True)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert out.count("contracts/genes/bridge_create.sg:2:3: error: unexpected `bogus`") == 1, out
    assert re.search(r"sggit fmt \(canonical \.sg layout\)\.+Passed", out) and re.search(r"sggit test \(contract examples\)\.+Passed", out), out
    assert (root / "contracts/genes/bridge_create.sg").read_text() == broken, "sggit-fmt never rewrites a file that does not parse"
    assert git(root, "rev-parse", "HEAD") == head


def test_a_commit_without_sggit_on_path_says_what_to_do(tmp_path: Path, pre_commit_home: Path) -> None:
    root, env = _initialised(tmp_path, pre_commit_home)
    git(root, "add", "-A")
    # The git hook remembers pre-commit's own Python; sggit itself is not on PATH.
    done = subprocess.run(["git", "commit", "-m", "genome"], cwd=root, env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert done.returncode != 0
    assert "sggit is not on PATH, and this hook needs it. Activate the virtualenv where sggit is installed" in done.stdout + done.stderr


def test_init_without_pre_commit_says_how_to_install_the_hook(tmp_path: Path) -> None:
    root = tmp_path / "bare-host"
    root.mkdir()
    git(root, "init", "-q")
    # This virtualenv's packages, but no pre-commit beside its Python and none on PATH.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    real = Path(sys.prefix)
    (venv / "pyvenv.cfg").write_text((real / "pyvenv.cfg").read_text())
    (venv / "lib").symlink_to(real / "lib")
    python = venv / "bin" / "python"
    python.symlink_to(Path(sys.executable).resolve())
    done = subprocess.run([str(python), "-m", "sggit", "init"], cwd=root, env={**os.environ, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "hint: pre-commit is not installed, so no hook runs on commit: `pip install pre-commit && pre-commit install`" in done.stdout
    assert not (root / ".git/hooks/pre-commit").exists()


def test_init_config_runs_the_published_hooks() -> None:
    import yaml  # pre-commit depends on PyYAML

    from sggit.genome.init import HOOK_ENTRY
    from sggit.genome.init import PRE_COMMIT as WRITTEN

    published = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    local = {h["id"]: h for h in yaml.safe_load(WRITTEN)["repos"][0]["hooks"]}
    assert set(local) == set(published) == {"sggit-check", "sggit-fmt", "sggit-check-genes", "sggit-test"}
    for hook_id, hook in local.items():
        # Both run hooks/sggit-hook with the same hook name; the local one says what to do without sggit.
        assert published[hook_id]["entry"] == f"sggit-hook {hook_id.removeprefix('sggit-')}"
        assert hook["entry"] == f"{HOOK_ENTRY} {hook_id.removeprefix('sggit-')}"
        assert hook["files"] == published[hook_id]["files"]
    assert (ROOT / "hooks" / "sggit-hook").stat().st_mode & 0o111
