"""Two hosts sharing one bare remote: alleles, lineage, fitness and phenotypes move, nothing is overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sggit.genome.fleet import merge_maps, mirror_prefix
from tests.workflow.helpers import INPUT, PATHWAY, PHENOTYPE, git, identity, sggit, sggit_json

MUTANT = '''import json


def execute(input_json):
    data = json.loads(input_json)
    return json.dumps({"success": True, "note": %r})
'''


@pytest.fixture
def fleet(tmp_path: Path, genome_project: Path) -> tuple[Path, Path, Path]:
    bare = tmp_path / "fleet.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    a = genome_project
    git(a, "remote", "add", "origin", str(bare))
    git(a, "push", "-q", "origin", "main")
    sggit(a, "push", host="alpha")
    b = tmp_path / "host-b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    identity(b)
    sggit(b, "pull", host="beta")
    return bare, a, b


def _refs(path: Path) -> dict[str, str]:
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines()) if out else {}


def _locus_alleles(path: Path, locus: str) -> set[str]:
    tree = git(path, "ls-tree", "--name-only", f"sggit/genome:genome/{locus}")
    return {name[:-3] for name in tree.splitlines()}


def _mutate(path: Path, host: str, locus: str, note: str) -> str:
    src = path.parent / f"{host}-{locus}.py"
    src.write_text(MUTANT % note)
    return sggit_json(path, "register", locus, str(src), "--as", "recessive", "--phenotype", PHENOTYPE, host=host)["id"]


def test_pull_gives_a_clone_the_whole_genome(fleet: tuple[Path, Path, Path]) -> None:
    _, a, b = fleet
    ra, rb = _refs(a), _refs(b)
    for ref in ("refs/heads/sggit/genome", "refs/notes/sggit/lineage", f"refs/heads/phenotype/{PHENOTYPE}"):
        assert rb[ref] == ra[ref]
    assert json.loads(sggit(b, "run", PATHWAY, "--phenotype", PHENOTYPE, "--input", json.dumps(INPUT), host="beta").stdout)["ok"] is True


def test_two_hosts_see_each_others_alleles_lineage_and_fitness(fleet: tuple[Path, Path, Path]) -> None:
    _, a, b = fleet
    for path, host in ((a, "alpha"), (b, "beta")):
        sggit(path, "run", PATHWAY, "--phenotype", PHENOTYPE, "--input", json.dumps(INPUT), host=host)
    mutant_a = _mutate(a, "alpha", "bridge_create", "from alpha")
    mutant_b = _mutate(b, "beta", "bridge_uplink", "from beta")

    sggit(a, "push", host="alpha")
    sggit(b, "push", host="beta")
    sggit(a, "pull", host="alpha")

    for path in (a, b):
        assert mutant_a in _locus_alleles(path, "bridge_create")
        assert mutant_b in _locus_alleles(path, "bridge_uplink")
        for mutant in (mutant_a, mutant_b):
            note = json.loads(git(path, "notes", "--ref", "sggit/lineage", "show", mutant))
            assert note["locus"] in ("bridge_create", "bridge_uplink")
        refs = _refs(path)
        assert "refs/notes/sggit/fitness/alpha" in refs and "refs/notes/sggit/fitness/beta" in refs
    # Both phenotype registrations survive: the maps changed different loci and merged.
    for path in (a, b):
        pmap = git(path, "show", f"phenotype/{PHENOTYPE}:phenotypes/{PHENOTYPE}.toml")
        assert mutant_a in pmap and mutant_b in pmap
    assert _refs(a)[f"refs/heads/phenotype/{PHENOTYPE}"] == _refs(b)[f"refs/heads/phenotype/{PHENOTYPE}"]

    # Fitness aggregates on read: the dominant's invocations are the two hosts' sum.
    per_host = {}
    for path, host in ((a, "alpha"), (b, "beta")):
        counts = {}
        for ph in sggit_json(path, "status", host=host)["phenotypes"]:
            for row in ph["loci"]:
                counts[row["locus"]] = row["invocations"]
        per_host[host] = counts
    assert per_host["alpha"] == per_host["beta"]
    assert per_host["alpha"]["bridge_create"] == 2


def test_conflicting_phenotype_change_is_reported_not_overwritten(fleet: tuple[Path, Path, Path]) -> None:
    bare, a, b = fleet
    _mutate(a, "alpha", "bridge_create", "alpha's choice")
    _mutate(b, "beta", "bridge_create", "beta's choice")
    sggit(a, "push", host="alpha")
    before_b = _refs(b)[f"refs/heads/phenotype/{PHENOTYPE}"]
    remote_tip = _refs(bare)[f"refs/heads/phenotype/{PHENOTYPE}"]

    done = sggit(b, "push", host="beta", check=False)
    assert done.returncode == 1
    assert f"conflict: phenotype/{PHENOTYPE}" in done.stderr
    assert _refs(b)[f"refs/heads/phenotype/{PHENOTYPE}"] == before_b
    assert _refs(bare)[f"refs/heads/phenotype/{PHENOTYPE}"] == remote_tip
    # Everything else still moved: beta's allele reached the remote.
    assert _refs(bare)["refs/heads/sggit/genome"] == _refs(b)["refs/heads/sggit/genome"]
    report = sggit_json(b, "pull", host="beta", check=False)
    assert report["ok"] is False and report["conflicts"][0]["kind"] == "phenotype"


def test_lineage_notes_from_two_hosts_merge_without_loss(fleet: tuple[Path, Path, Path]) -> None:
    _, a, b = fleet
    ids = [_mutate(a, "alpha", "bridge_create", f"a{i}") for i in range(3)]
    ids += [_mutate(b, "beta", "bridge_uplink", f"b{i}") for i in range(3)]
    sggit(a, "push", host="alpha")
    sggit(b, "pull", host="beta")
    notes = git(b, "notes", "--ref", "sggit/lineage", "list")
    annotated = {line.split()[1] for line in notes.splitlines()}
    assert set(ids) <= annotated
    lineage_log = git(b, "log", "--format=%P", "-1", "refs/notes/sggit/lineage").split()
    assert len(lineage_log) == 2


def test_unreachable_remote_is_a_clear_error(genome_project: Path) -> None:
    done = sggit(genome_project, "pull", "/nonexistent/remote.git", check=False)
    assert done.returncode == 1
    assert "cannot fetch from /nonexistent/remote.git" in done.stderr
    assert "Traceback" not in done.stderr


def test_merge_maps_takes_each_sides_loci_and_refuses_a_clash() -> None:
    base = {"name": "p", "loci": {"x": {"dominant": "1"}, "y": {"dominant": "2"}}}
    ours = {"name": "p", "loci": {"x": {"dominant": "3"}, "y": {"dominant": "2"}}}
    theirs = {"name": "p", "loci": {"x": {"dominant": "1"}, "y": {"dominant": "4"}, "z": {}}}
    assert merge_maps(base, ours, theirs) == {"name": "p", "loci": {"x": {"dominant": "3"}, "y": {"dominant": "4"}, "z": {}}}
    clash = {"name": "p", "loci": {"x": {"dominant": "5"}, "y": {"dominant": "2"}}}
    assert merge_maps(base, ours, clash) is None
    assert mirror_prefix("/srv/fleet.git") == "refs/sggit/remotes/srv_fleet.git/"


def test_simultaneous_pushes_from_two_hosts_lose_nothing(fleet: tuple[Path, Path, Path]) -> None:
    import os
    import subprocess
    import sys

    bare, a, b = fleet
    mutant_a = _mutate(a, "alpha", "bridge_create", "alpha, racing")
    mutant_b = _mutate(b, "beta", "bridge_uplink", "beta, racing")
    procs = [
        subprocess.Popen([sys.executable, "-m", "sggit", "push"], cwd=path, env={**os.environ, "SGGIT_HOST": host}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for path, host in ((a, "alpha"), (b, "beta"))
    ]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert [r[2] for r in results] == [0, 0], results
    assert mutant_a in _locus_alleles(bare, "bridge_create")
    assert mutant_b in _locus_alleles(bare, "bridge_uplink")
    notes = git(bare, "notes", "--ref", "sggit/lineage", "list")
    assert {mutant_a, mutant_b} <= {line.split()[1] for line in notes.splitlines()}
    pmap = git(bare, "show", f"phenotype/{PHENOTYPE}:phenotypes/{PHENOTYPE}.toml")
    assert mutant_a in pmap and mutant_b in pmap
