"""The commands a user runs, on a genome kept `genome/<locus>/<id[:2]>/<id[2:]>.py` and on one kept flat before."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from sggit.genome import phenostore
from sggit.genome.alleles import allele_path
from sggit.genome.repo import Genome
from tests.genome.helpers import flat_genome, fsck_clean
from tests.helpers import sggit
from tests.workflow.helpers import git, sggit_json

FANOUT = re.compile(r"^genome/[a-z_]+/[0-9a-f]{2}/[0-9a-f]{38}\.py$")
LOCUS = "bridge_create"
WRONG = '''import json


def execute(input_json):
    return json.dumps({"success": True, "changed": True, "resources_created": ["elsewhere"]})
'''


def _files(root: Path) -> list[str]:
    return git(root, "ls-tree", "-r", "--name-only", "sggit/genome").split()


def _hook(root: Path, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    """The entry the generated .pre-commit-config.yaml runs (`language: system`), as pre-commit runs it."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SGGIT_HOST": "testhost"}
    return subprocess.run([str(bin_dir / "sggit-hook"), hook, *files], cwd=root, capture_output=True, text=True, env=env)


def _seed_file(root: Path) -> str:
    return str(next((root / "genome" / LOCUS).glob("*.py")).relative_to(root))


def test_init_register_show_status_checks_and_gc_on_the_fanout_layout(genome_project: Path) -> None:
    root = genome_project
    files = _files(root)
    assert files and all(FANOUT.match(f) for f in files), files[:3]
    wrong = root.parent / "wrong.py"
    wrong.write_text(WRONG)
    reg = sggit_json(root, "register", LOCUS, str(wrong))
    allele = reg["id"]
    assert reg["new"] is True and allele_path(LOCUS, allele) in _files(root)
    shown = sggit(root, "show", allele[:10]).stdout
    assert '"elsewhere"' in shown and LOCUS in shown
    status = sggit_json(root, "status")
    assert {p["phenotype"] for p in status["phenotypes"]} >= {"dell_r740"}
    assert allele[:12] in sggit(root, "lineage", LOCUS).stdout

    # a changed contract tests every registered allele of its locus, found through the genome tree
    assert _hook(root, "check-genes", _seed_file(root)).returncode == 0
    contract = f"contracts/genes/{LOCUS}.sg"
    blocked = _hook(root, "test", contract)
    assert blocked.returncode == 1 and f"{allele[:12]} ({LOCUS})" in blocked.stdout, blocked.stdout + blocked.stderr
    ci = sggit_json(root, "ci", "check", code=None)
    assert ci["ok"] is False and any(f["where"] == f"{allele[:12]} ({LOCUS})" for f in ci["findings"])

    genome = Genome.open(root)
    for name in phenostore.phenotype_names(genome):
        phenostore.set_lifecycle(genome, name, LOCUS, allele, "deprecated")
    time.sleep(0.01)
    done = sggit(root, "gc", "--older-than", "1ms").stdout
    assert f"removed {LOCUS} {allele[:12]}" in done
    after = _files(root)
    assert allele_path(LOCUS, allele) not in after and len(after) == len(files) and all(FANOUT.match(f) for f in after)
    assert _hook(root, "test", contract).returncode == 0
    assert sggit_json(root, "ci", "check")["ok"] is True


def test_a_genome_kept_flat_works_and_its_first_registration_moves_it_in_a_commit_of_its_own(genome_project: Path) -> None:
    root = genome_project
    ids = sorted(f.split("/")[2] + f.split("/")[3][:-3] for f in _files(root))
    flat = flat_genome(root)
    assert not any(FANOUT.match(f) for f in _files(root))
    seed = next(f for f in _files(root) if f.startswith(f"genome/{LOCUS}/"))[len(f"genome/{LOCUS}/"):-3]
    assert LOCUS in sggit(root, "show", seed[:10]).stdout
    assert sggit_json(root, "status")["phenotypes"]
    assert sggit_json(root, "ci", "check")["ok"] is True
    assert git(root, "rev-parse", "sggit/genome") == flat, "reading moves nothing"

    mine = root.parent / "mine.py"
    mine.write_text((root / _seed_file(root)).read_text() + "\n# mine\n")
    allele = sggit_json(root, "register", LOCUS, str(mine))["id"]
    subjects = git(root, "log", "--format=%s", "sggit/genome").splitlines()
    assert subjects[:2] == [f"register 1 allele(s) at {LOCUS}", "genome: keep each allele file under the first two hex digits of its id"]
    assert git(root, "rev-parse", "sggit/genome~2") == flat
    files = _files(root)
    assert all(FANOUT.match(f) for f in files) and len(files) == len(ids) + 1
    assert sorted(f.split("/")[2] + f.split("/")[3][:-3] for f in files) == sorted([*ids, allele])
    fsck_clean(root)
    assert "# mine" in sggit(root, "show", allele[:10]).stdout
    assert sggit_json(root, "ci", "check")["ok"] is True
