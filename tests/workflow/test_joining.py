"""A new host joins a fleet from a fresh clone, settles a phenotype conflict, and registers a late seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import sggit
from tests.workflow.helpers import INPUT, PHENOTYPE, git, identity, sggit_json

MANUAL = '''import json


def execute(input_json):
    data = json.loads(input_json)
    import gene_sdk
    gene_sdk.create_bridge(data["bridge_name"])
    return json.dumps({{"success": True, "resources_created": [data["bridge_name"]]}})  # {tag}
'''


@pytest.fixture
def fleet(genome_project: Path, tmp_path: Path) -> tuple[Path, Path]:
    bare = tmp_path / "fleet.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(genome_project, "remote", "add", "origin", str(bare))
    git(genome_project, "push", "-q", "origin", "main")
    sggit(genome_project, "push", "origin", host="host-a")
    return genome_project, bare


def _clone(bare: Path, where: Path) -> Path:
    git(where.parent, "clone", "-q", str(bare), str(where))
    identity(where)
    return where


def test_a_fresh_clone_is_told_to_pull_and_init_joins_instead_of_starting_a_second_genome(fleet: tuple[Path, Path], tmp_path: Path) -> None:
    host_a, bare = fleet
    clone = _clone(bare, tmp_path / "host-b")
    status = sggit(clone, "status", host="host-b")
    assert "this clone has no genome yet, and origin has one: run `sggit pull origin` first" in status.stdout
    init = sggit(clone, "init", "--no-hook", host="host-b")
    assert "joined the fleet: pulled the genome from origin" in init.stdout
    assert "the fleet's genome already holds every seed here (" in init.stdout and "nothing else to set up" in init.stdout
    assert "already initialised" not in init.stdout + init.stderr and "nothing changed" not in init.stdout + init.stderr
    assert "created branch phenotype/" not in init.stdout
    assert git(clone, "rev-parse", f"phenotype/{PHENOTYPE}") == git(host_a, "rev-parse", f"phenotype/{PHENOTYPE}")
    pulled = sggit(clone, "pull", "origin", host="host-b")
    assert pulled.returncode == 0 and "conflict" not in pulled.stderr
    run = sggit(clone, "run", "provision_management_bridge", "--phenotype", PHENOTYPE, "--input", json.dumps(INPUT), host="host-b")
    assert json.loads(run.stdout)["ok"] is True


def test_a_conflicting_phenotype_change_is_resolved_by_a_command_and_recorded_as_a_commit(fleet: tuple[Path, Path], tmp_path: Path) -> None:
    host_a, bare = fleet
    clone = _clone(bare, tmp_path / "host-b")
    sggit(clone, "pull", "origin", host="host-b")
    for root, host in ((host_a, "host-a"), (clone, "host-b")):
        path = tmp_path / f"{host}.py"
        path.write_text(MANUAL.format(tag=host))
        sggit(root, "register", "bridge_create", str(path), "--as", "dominant", "--phenotype", PHENOTYPE, host=host)
    sggit(host_a, "push", "origin", host="host-a")
    ours = git(clone, "rev-parse", f"phenotype/{PHENOTYPE}")
    pushed = sggit(clone, "push", "origin", host="host-b", code=None)
    assert pushed.returncode == 1
    assert f"resolve: sggit resolve --phenotype {PHENOTYPE} --prefer ours|theirs [LOCUS...] --remote origin" in pushed.stderr
    wrong = sggit(clone, "resolve", "--phenotype", PHENOTYPE, "--prefer", "theirs", "bridge_uplink", host="host-b", code=None)
    assert wrong.returncode == 2 and "not in conflict: bridge_uplink" in wrong.stderr and "in conflict: bridge_create" in wrong.stderr
    done = sggit_json(clone, "resolve", "--phenotype", PHENOTYPE, "--prefer", "theirs", "bridge_create", host="host-b")
    assert done["chosen"] == {"bridge_create": "theirs"}
    theirs = git(host_a, "rev-parse", f"phenotype/{PHENOTYPE}")
    assert git(clone, "log", "-1", "--format=%P", f"phenotype/{PHENOTYPE}").split() == [ours, theirs]
    assert "Sggit-Action: resolve" in git(clone, "log", "-1", "--format=%B", f"phenotype/{PHENOTYPE}")
    dominant = sggit_json(host_a, "status", "--phenotype", PHENOTYPE, host="host-a")
    mine = sggit_json(clone, "status", "--phenotype", PHENOTYPE, host="host-b")

    def bridge(st: dict) -> str:
        return next(r["dominant"] for p in st["phenotypes"] for r in p["loci"] if r["locus"] == "bridge_create")

    assert bridge(mine) == bridge(dominant)
    sggit(clone, "push", "origin", host="host-b")
    assert git(bare, "rev-parse", f"phenotype/{PHENOTYPE}") == done["commit"]


def test_a_seed_committed_after_init_is_named_by_run_and_registered_by_register_seeds(genome_project: Path) -> None:
    root = genome_project
    (root / "contracts/genes/bridge_make.sg").write_text((root / "contracts/genes/bridge_create.sg").read_text().replace("gene bridge_create", "gene bridge_make", 1))
    (root / "genome/bridge_make").mkdir()
    (root / "genome/bridge_make/first.py").write_text(MANUAL.format(tag="late seed"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a new locus and its seed")
    data = json.dumps({"bridge_name": "br0", "interfaces": []})
    failed = sggit(root, "run", "bridge_make", "--phenotype", PHENOTYPE, "--input", data, code=None)
    assert failed.returncode == 1
    assert "hint: genome/bridge_make/first.py at bridge_make is not registered, so it is not expressed: run `sggit register --seeds`" in failed.stderr
    registered = sggit(root, "register", "--seeds")
    assert f"registered phenotype {PHENOTYPE}: bridge_make +" in registered.stdout
    ran = sggit(root, "run", "bridge_make", "--phenotype", PHENOTYPE, "--input", data)
    assert json.loads(ran.stdout)["ok"] is True
    assert "every seed is registered already" in sggit(root, "register", "--seeds").stdout
