"""The shipped CI recipes' own command lines, run in scratch clones of a fleet repository.

sggit is installed the way the recipes install it (their `pip install` line, from a
git URL at the release tag they pin) into a fresh virtualenv; each check job's
script then runs on a promotion pull request's checkout and must pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sggit import __version__
from tests.helpers import sggit
from tests.workflow.helpers import PHENOTYPE, git, identity, project_copy, sggit_json

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci"
pytestmark = pytest.mark.slow


def _recipe(name: str) -> dict:
    return yaml.safe_load((DOCS / name).read_text())


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv where the recipes' own install line put sggit, from this project tagged as released."""
    source = tmp_path_factory.mktemp("sggit-source")
    project_copy(source)
    git(source, "tag", f"v{__version__}")
    pinned = _recipe("github-actions.yml")["env"]["SGGIT_SOURCE"]
    assert pinned == _recipe("gitlab-ci.yml")["variables"]["SGGIT_SOURCE"]
    url, tag = pinned.rsplit("@", 1)
    assert url.startswith("git+") and tag == f"v{__version__}", "the recipes pin the current release tag"
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    step = next(s["run"] for s in _recipe("github-actions.yml")["jobs"]["check"]["steps"] if "pip install" in s.get("run", ""))
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "SGGIT_SOURCE": f"git+file://{source}@{tag}"}
    done = subprocess.run(["bash", "-e", "-c", step], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    version = subprocess.run([str(venv / "bin" / "sggit"), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"sggit, version {__version__}"
    return venv / "bin"


@pytest.fixture
def fleet(promotable: tuple[Path, str], tmp_path: Path) -> tuple[Path, dict]:
    """A bare fleet remote holding main, the genome, and one pushed promotion branch."""
    root, _ = promotable
    bare = tmp_path / "fleet.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(root, "remote", "add", "origin", str(bare))
    git(root, "push", "-q", "origin", "main")
    sggit(root, "push", "origin")
    promo = sggit_json(root, "ci", "promote", "--phenotype", PHENOTYPE, "--out", str(tmp_path / "prs"), "--push", "origin")[0]
    return bare, promo


def _run(script: str, cwd: Path, bin_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env, "PATH": f"{bin_dir}:/usr/bin:/bin", "SGGIT_HOST": "ci"}
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=full, capture_output=True, text=True)


def test_github_check_job_passes_on_a_promotion_pull_request(fleet: tuple[Path, dict], installed: Path, tmp_path: Path) -> None:
    bare, promo = fleet
    runner = tmp_path / "gh"
    git(tmp_path, "clone", "-q", str(bare), str(runner))  # actions/checkout with fetch-depth: 0
    git(runner, "checkout", "-q", "--detach", f"origin/{promo['branch']}")
    assert not (runner / "contracts").exists(), "a promotion branch holds only phenotypes/"
    summary = tmp_path / "summary.md"
    for step in _recipe("github-actions.yml")["jobs"]["check"]["steps"]:
        script = step.get("run")
        if script is None or "pip install" in script:
            continue
        script = script.replace("${{ github.base_ref }}", promo["base"])
        assert "${{" not in script
        done = _run(script, runner, installed, {"GITHUB_STEP_SUMMARY": str(summary)})
        assert done.returncode == 0, f"{step.get('name', script)}:\n{done.stdout}\n{done.stderr}"
    text = summary.read_text()
    assert "## sggit ci check: passed" in text
    assert "phenotypes checked against the contracts of `origin/main`" in text
    assert "| examples | ✅ ok | 1 alleles at 1 loci" in text
    assert "| phenotype | ✅ ok | 1 allele(s) the change expresses or promotes, 0 not in the genome |" in text


def test_gitlab_check_job_passes_and_fetches_main_itself(fleet: tuple[Path, dict], installed: Path, tmp_path: Path) -> None:
    bare, promo = fleet
    runner = tmp_path / "gl"
    runner.mkdir()
    # A GitLab runner fetches the merge request's source branch only.
    git(runner, "init", "-q")
    git(runner, "remote", "add", "origin", str(bare))
    git(runner, "fetch", "-q", "origin", f"+refs/heads/{promo['branch']}:refs/remotes/origin/{promo['branch']}")
    git(runner, "checkout", "-q", "--detach", f"origin/{promo['branch']}")
    recipe = _recipe("gitlab-ci.yml")
    before = [line for line in recipe["default"]["before_script"] if "pip install" not in line]
    job = recipe["sggit-check"]
    env = {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": promo["base"], "CI_SERVER_HOST": "gitlab.example.org"}
    for line in before + job["script"]:
        done = _run(line, runner, installed, env)
        assert done.returncode == 0, f"{line}:\n{done.stdout}\n{done.stderr}"
    text = (runner / "sggit-check.md").read_text()
    assert "## sggit ci check: passed" in text and "`origin/main`" in text
    assert git(runner, "rev-parse", "origin/main") == git(bare, "rev-parse", "main")


def test_a_promotion_naming_an_allele_the_genome_lacks_fails(fleet: tuple[Path, dict], tmp_path: Path) -> None:
    bare, promo = fleet
    runner = tmp_path / "bad"
    git(tmp_path, "clone", "-q", str(bare), str(runner))
    identity(runner)
    git(runner, "checkout", "-q", "-b", "tampered", f"origin/{promo['branch']}")
    path = runner / "phenotypes" / f"{PHENOTYPE}.toml"
    path.write_text(path.read_text().replace(promo["allele"], "0" * 40))
    allele = promo["allele"]
    moved = next((runner / "phenotypes" / PHENOTYPE).glob(f"*/{allele[:2]}/{allele[2:]}.toml"))
    (moved.parent.parent / "00").mkdir(exist_ok=True)
    git(runner, "mv", str(moved), str(moved.parent.parent / "00" / (38 * "0" + ".toml")))
    git(runner, "commit", "-qam", "tamper")
    sggit(runner, "pull", "origin")
    done = sggit(runner, "ci", "check", "--base", f"origin/{promo['base']}", code=None)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"phenotypes/{PHENOTYPE}.toml (check_link_state): phenotype: allele 000000000000 is not in the genome" in done.stdout
    assert "hint: fetch the fleet's alleles first" in done.stdout
