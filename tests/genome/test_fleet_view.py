"""The fleet's fitness as status and show read it (from the view cache) against every host's notes read afresh."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from sggit.genome.fitness import Record
from sggit.genome.fleet import pull, push
from sggit.genome.repo import Genome
from sggit.genome.sync import FitnessView, journal, read_counters_note, sync
from sggit.genome.views import show, status
from tests.genome.helpers import SEED_A, git
from tests.helpers import sg_in, sggit

L = "bridge_create"
P = "dell_r740"


@pytest.fixture
def fleet(tmp_path: Path, repo_dir: Path, source_genome: Path) -> tuple[Path, Path, str]:
    """`repo_dir` plays every other host and pushes to a bare remote; `observer` (host testhost) pulls."""
    sg_in(repo_dir, "init", "--from", str(source_genome))
    bare = tmp_path / "fleet.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo_dir, "remote", "add", "origin", str(bare))
    push(Genome.open(repo_dir, host="h1"))
    observer = tmp_path / "observer"
    git(tmp_path, "clone", "-q", str(bare), str(observer))
    return repo_dir, observer, _blob_id(repo_dir, SEED_A)


def _blob_id(repo: Path, text: str) -> str:
    return subprocess.run(["git", "hash-object", "--stdin"], cwd=repo, input=text, capture_output=True, text=True, check=True).stdout.strip()


def _host_runs(repo: Path, host: str, allele: str, outcomes: list[bool], start: float) -> None:
    """Records of one host, pushed as that host pushes them (sync, pull, push of its own ref)."""
    genome = Genome.open(repo, host=host)
    with journal(genome) as j:
        for i, ok in enumerate(outcomes):
            j.append(Record(allele=allele, locus=L, phenotype=P, ok=ok, error=None if ok else f"{host} failed {i}", time=start + i))
    push(genome)


def _settle() -> None:
    time.sleep(0.15)  # past the window in which a rewritten packed-refs may keep its timestamp (it is not kept until then)


def _pull(observer: Path) -> None:
    pull(Genome.open(observer))
    _settle()


def _from_scratch(repo: Path, allele: str) -> dict[str, object]:
    """Every host's note of the pair read with stock git, damaged ones skipped, added up."""
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/notes/sggit/fitness/").stdout.split()
    total = successes = 0
    hosts: list[str] = []
    latest: tuple[float, str] | None = None
    for ref in refs:
        note = git(repo, "notes", "--ref", ref, "show", allele, check=False)
        if note.returncode != 0:
            continue
        try:
            c = read_counters_note(note.stdout.encode())[L]
        except (ValueError, KeyError):
            continue
        hosts.append(ref.rsplit("/", 1)[1])
        total, successes = total + c.total, successes + c.successes
        if c.last_failure is not None and (latest is None or c.last_failure.time > latest[0]):
            latest = (c.last_failure.time, c.last_failure.error)
    return {"total": total, "successes": successes, "hosts": sorted(hosts), "last_failure": latest and latest[1]}


def _cache(repo: Path, name: str = "fitness-view.json") -> Path:
    return repo / ".git" / "sggit" / "cache" / name


def _viewed(repo: Path, allele: str) -> dict[str, object]:
    genome = Genome.open(repo)
    row = next(r for r in status(genome, P).phenotypes[0].loci if r.locus == L)
    at = show(genome, allele).loci[0]
    per_host = show(genome, allele, hosts=True).loci[0]
    assert per_host.total == at.total and per_host.hosts == at.hosts == len(per_host.fitness_by_host or {})
    assert row.invocations_all == at.total.total
    return {"total": at.total.total, "successes": at.total.successes, "hosts": sorted(per_host.fitness_by_host or {}),
            "last_failure": row.last_failure, "status": status(genome).model_dump(), "show": at.model_dump()}


def _check(repo: Path, allele: str) -> dict[str, object]:
    """What the views answer equals the notes read afresh, whether answered from the cache or not."""
    first = _viewed(repo, allele)
    assert json.loads(_cache(repo).read_text())["digest"] == FitnessView(Genome.open(repo)).digest, "the answers were kept"
    assert json.loads(_cache(repo, "fitness-hosts.json").read_text())["digest"] == FitnessView(Genome.open(repo)).digest
    cached = _viewed(repo, allele)
    _cache(repo).unlink()
    _cache(repo, "fitness-hosts.json").unlink()
    rebuilt = _viewed(repo, allele)
    assert first == cached == rebuilt
    scratch = _from_scratch(repo, allele)
    assert {k: first[k] for k in scratch} == scratch
    return first


def test_the_views_equal_every_hosts_notes_after_pulls_that_add_update_and_remove_hosts(fleet: tuple[Path, Path, str]) -> None:
    source, observer, a = fleet
    _host_runs(source, "h1", a, [True, True, False, True], 100.0)
    _host_runs(source, "h2", a, [True, False, True], 200.0)
    _pull(observer)
    seen = _check(observer, a)
    assert (seen["total"], seen["hosts"], seen["last_failure"]) == (7, ["h1", "h2"], "h2 failed 1")

    _host_runs(source, "h2", a, [False, False], 300.0)
    _pull(observer)
    assert _check(observer, a)["total"] == 9

    _host_runs(source, "h3", a, [True], 400.0)
    _pull(observer)
    seen = _check(observer, a)
    assert (seen["total"], seen["hosts"], seen["last_failure"]) == (10, ["h1", "h2", "h3"], "h2 failed 1")

    git(observer, "update-ref", "-d", "refs/notes/sggit/fitness/h2")  # a packed ref: packed-refs is rewritten
    _settle()
    seen = _check(observer, a)
    assert (seen["total"], seen["hosts"], seen["last_failure"]) == (5, ["h1", "h3"], "h1 failed 2")

    own = Genome.open(observer)
    with journal(own) as j:
        j.append(Record(allele=a, locus=L, phenotype=P, ok=False, error="here", time=500.0))
    unsynced = show(own, a).loci[0]
    assert (unsynced.total.total, unsynced.hosts, unsynced.total.last_failure and unsynced.total.last_failure.error) == (6, 3, "here")
    push(own)  # its pull brings h2 back; this host's ref is one loose ref over the packed ones
    _settle()
    seen = _check(observer, a)
    assert (seen["total"], seen["hosts"], seen["last_failure"]) == (11, ["h1", "h2", "h3", "testhost"], "here")

    with journal(own) as j:
        j.append(Record(allele=a, locus=L, phenotype=P, ok=True, time=600.0))
    sync(own)  # a loose ref written over the packed one, packed-refs untouched
    assert _check(observer, a)["total"] == 12


def test_damaged_notes_are_skipped_and_named_from_the_cache_too(fleet: tuple[Path, Path, str]) -> None:
    source, observer, a = fleet
    _host_runs(source, "h1", a, [True, True], 100.0)
    git(source, "notes", "--ref", "sggit/fitness/h4", "add", "-f", "-m", "garbage{", a)
    push(Genome.open(source, host="h4"))
    _pull(observer)
    seen = _check(observer, a)
    assert (seen["total"], seen["hosts"]) == (2, ["h1"])
    damaged = f"refs/notes/sggit/fitness/h4:{a}"
    for _ in range(2):  # the second is answered from the cache
        for args in (["status", "--format", "json"], ["show", a, "--format", "json"], ["show", a]):
            done = sggit(observer, *args)
            assert damaged in done.stderr and "damaged fitness note skipped" in done.stderr, done.stderr


def test_a_torn_or_foreign_cache_is_rebuilt(fleet: tuple[Path, Path, str]) -> None:
    source, observer, a = fleet
    _host_runs(source, "h1", a, [True, False, True], 100.0)
    _pull(observer)
    good = _check(observer, a)
    for name, section in (("fitness-view.json", "pairs"), ("fitness-hosts.json", "by_host")):
        text = _cache(observer, name).read_text()
        for damaged in (text[: len(text) // 2], json.dumps({**json.loads(text), section: []}), "[]"):
            _cache(observer, name).write_text(damaged)
            assert _viewed(observer, a) == good
            assert json.loads(_cache(observer, name).read_text())["digest"] == FitnessView(Genome.open(observer)).digest


def test_show_prints_the_fleet_total_and_per_host_lines_only_when_asked(fleet: tuple[Path, Path, str]) -> None:
    source, observer, a = fleet
    _host_runs(source, "h1", a, [True, False], 100.0)
    _host_runs(source, "h2", a, [True], 200.0)
    _pull(observer)
    text = sg_in(observer, "show", a[:12]).output
    assert "fitness on " not in text
    assert f"  fitness under {P}: 0.200 (immediate 2/3 ok)" in text and "  fitness total: 0.200 (immediate 2/3 ok) on 2 host(s)" in text
    hosts = sg_in(observer, "show", a[:12], "--hosts").output
    assert "  fitness on h1: immediate 1/2 ok\n  fitness on h2: immediate 1/1 ok\n" in hosts and "on 2 host(s)" in hosts
    shown = json.loads(sg_in(observer, "show", a[:12], "--format", "json").output)["loci"][0]
    assert shown["hosts"] == 2 and {h: c["total"] for h, c in shown["fitness_by_host"].items()} == {"h1": 2, "h2": 1}


def test_answers_under_a_packed_refs_that_could_still_be_rewritten_unseen_are_not_kept(fleet: tuple[Path, Path, str]) -> None:
    source, observer, a = fleet
    _host_runs(source, "h1", a, [True, False], 100.0)
    _pull(observer)
    packed = observer / ".git" / "packed-refs"
    later = time.time_ns() + 10**10  # its timestamp ahead of the clock: a rewrite now could carry the same one
    os.utime(packed, ns=(later, later))
    seen = _viewed(observer, a)
    assert (seen["total"], seen["hosts"]) == (2, ["h1"])
    assert not _cache(observer).exists() or json.loads(_cache(observer).read_text())["digest"] != FitnessView(Genome.open(observer)).digest


def test_another_host_name_on_the_same_repository_is_not_answered_from_this_hosts_entries(fleet: tuple[Path, Path, str]) -> None:
    source, observer, a = fleet
    _host_runs(source, "h1", a, [False, False], 100.0)
    _pull(observer)
    assert show(Genome.open(observer), a).loci[0].hosts == 1  # kept, with no part of testhost's
    with journal(Genome.open(observer)) as j:
        j.append(Record(allele=a, locus=L, phenotype=P, ok=False, error="again", time=300.0))
    as_h1 = show(Genome.open(observer, host="h1"), a).loci[0]  # its unsynced record continues h1's streak
    assert (as_h1.hosts, as_h1.total.total, as_h1.total.streak) == (1, 3, 3)


def test_hosts_syncing_in_one_repository_leave_few_fitness_refs_loose(repo_dir: Path, source_genome: Path) -> None:
    """Past a few loose fitness refs sggit packs them, as a pull does; no host's counters are lost."""
    sg_in(repo_dir, "init", "--from", str(source_genome))
    allele = _blob_id(repo_dir, SEED_A)
    hosts = [f"h{i:02d}" for i in range(20)]
    for n, host in enumerate(hosts):
        with journal(Genome.open(repo_dir, host=host)) as j:
            j.append(Record(allele=allele, locus=L, phenotype=P, ok=n % 2 == 0, error=None if n % 2 == 0 else "x", time=float(n)))
        sg_in(repo_dir, "sync", env={"SGGIT_HOST": host})
    loose = os.listdir(repo_dir / ".git" / "refs" / "notes" / "sggit" / "fitness")
    assert 0 < len(loose) <= 8, loose
    refs = git(repo_dir, "for-each-ref", "--format=%(refname:lstrip=4)", "refs/notes/sggit/fitness/").stdout.split()
    assert refs == hosts
    _settle()
    at = show(Genome.open(repo_dir), allele).loci[0]
    assert (at.total.total, at.total.successes, at.hosts) == (20, 10, 20)
    assert _from_scratch(repo_dir, allele)["hosts"] == hosts
    fsck = git(repo_dir, "fsck", "--full", "--strict", "--no-dangling", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def _loose_hosts(repo: Path, count: int) -> None:
    allele = _blob_id(repo, SEED_A)
    for n in range(count):
        genome = Genome.open(repo, host=f"k{n:02d}")
        with journal(genome) as j:
            j.append(Record(allele=allele, locus=L, phenotype=P, ok=True, time=float(n)))
        sync(genome)


def test_the_lock_a_killed_ref_packing_left_is_removed_and_a_live_gits_is_not(repo_dir: Path, source_genome: Path) -> None:
    """git pack-refs dies with sggit; its packed-refs.lock must not block every later pack and ref deletion."""
    sg_in(repo_dir, "init", "--from", str(source_genome))
    lock = repo_dir / ".git" / "packed-refs.lock"
    fitness = repo_dir / ".git" / "refs" / "notes" / "sggit" / "fitness"
    # A live git holds the lock: left alone, and the refs stay loose until it lets go.
    lock.write_text("")
    _loose_hosts(repo_dir, 12)
    assert lock.exists() and len(os.listdir(fitness)) == 12
    assert git(repo_dir, "update-ref", "-d", "refs/notes/sggit/fitness/k00", check=False).returncode != 0
    # The same lock left by a packing sggit was killed in (its mark still says running): removed, refs packed.
    (repo_dir / ".git" / "sggit" / "pack-refs").write_text("running\n")
    _loose_hosts(repo_dir, 1)
    assert not lock.exists()
    assert not fitness.exists() or os.listdir(fitness) == []
    assert (repo_dir / ".git" / "sggit" / "pack-refs").read_text() == ""
    refs = git(repo_dir, "for-each-ref", "--format=%(refname:lstrip=4)", "refs/notes/sggit/fitness/").stdout.split()
    assert refs == [f"k{n:02d}" for n in range(12)]
    git(repo_dir, "update-ref", "-d", "refs/notes/sggit/fitness/k00")
