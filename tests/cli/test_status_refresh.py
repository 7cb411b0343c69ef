"""After a change made through sggit, the next `sggit status` is served from a kept output, and that output is current.

Every command other than status renders anew, as it ends, the kept status
outputs it made stale. Each test runs the real command line in subprocesses on
a real repository: `served` is a status that printed a kept output (it imported
none of pygit2, pydantic or click), `full` is one forced through the full
command (`-C` is not an argument the kept outputs answer), and the two must be
byte for byte the same.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sggit.cli import fast_status
from sggit.genome.alleles import alleles_at
from sggit.genome.fitness import Record
from sggit.genome.repo import Genome
from sggit.genome.sync import record
from tests.helpers import sggit
from tests.workflow.helpers import git

PHENOTYPE = "dell_r740"
BRIDGE = '{"bridge_name": "br0", "interfaces": []}'
OPTIONS: list[tuple[str, ...]] = [(), ("--format", "json"), ("--phenotype", PHENOTYPE)]
PROBE = ("import sys; sys.argv = ['sggit', *sys.argv[1:]]\nfrom sggit.cli import main\ntry:\n    main()\nexcept SystemExit as e:\n"
         "    assert not e.code, e.code\nprint(sorted(m for m in ('click', 'pydantic', 'pygit2') if m in sys.modules), file=sys.stderr)")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != fast_status.REFRESH}
    return {**env, "SGGIT_HOST": "testhost", **extra}


def served(project: Path, *args: str) -> str | None:
    """What `sggit status ARGS` printed if it came from a kept output; None if it ran the full command."""
    done = subprocess.run([sys.executable, "-c", PROBE, "status", *args], cwd=project, capture_output=True, text=True, env=_env())
    assert done.returncode == 0, done.stderr
    return done.stdout if done.stderr == "[]\n" else None


def full(project: Path, *args: str) -> str:
    return sggit(project.parent, "-C", str(project), "status", *args, env=_env()).stdout


@pytest.fixture
def project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fresh genome, its status kept under every option, with the background refresh on."""
    monkeypatch.delenv(fast_status.REFRESH, raising=False)
    for args in OPTIONS:
        sggit(project, "status", *args, env=_env())
    return project


def test_after_run_sync_register_and_rollback_the_next_status_is_served_and_is_the_full_ones(project: Path, tmp_path: Path) -> None:
    source = tmp_path / "mine.py"
    source.write_text("import json\n\ndef execute(input_json):\n    return json.dumps({'success': True, 'resources_created': []})\n")
    mine = git(project, "hash-object", str(source))[:12]
    steps: list[tuple[str, ...]] = [
        ("run", "bridge_create", "--phenotype", PHENOTYPE, "--input", BRIDGE),
        ("--no-progress", "sync"),  # sets SGGIT_PROGRESS for itself; a later status is asked without it
        ("register", "bridge_create", str(source), "--as", "dominant", "--phenotype", PHENOTYPE),
        ("rollback", "--phenotype", PHENOTYPE),
    ]
    seen: list[str] = []
    for step in steps:
        sggit(tmp_path, "-C", str(project), *step, env=_env())  # from elsewhere: the refresh is of the repository worked on
        for args in OPTIONS:
            kept = served(project, *args)
            assert kept is not None, f"after {step[0]}, status {args} ran in full"
            assert kept == full(project, *args)
        seen.append(kept)
    synced = json.loads(served(project, "--format", "json") or "")
    assert synced["journal_pending_bytes"] == 0
    assert "waiting in the journal" in seen[0] and "waiting in the journal" not in seen[1]
    assert mine in seen[2] and seen[3] == seen[1]  # registered as dominant, then rolled back


def test_with_the_refresh_turned_off_the_next_status_runs_in_full_and_is_current(project: Path) -> None:
    before = served(project)
    sggit(project, "run", "bridge_create", "--phenotype", PHENOTYPE, "--input", BRIDGE, env=_env(SGGIT_STATUS_REFRESH="0"))
    assert fast_status.kept_output("text", None, start=str(project)) is None
    assert served(project) is None  # the full command ran, and kept its answer
    after = served(project)
    assert after is not None and after != before and after == full(project)


def test_only_the_most_recently_kept_outputs_are_rendered_anew(project: Path) -> None:
    for args in (("--phenotype", "supermicro_x11"), ("--format", "json", "--phenotype", PHENOTYPE), ("--format", "json", "--phenotype", "supermicro_x11")):
        time.sleep(0.02)  # distinct mtimes: the order they were kept in
        sggit(project, "status", *args, env=_env())
    sggit(project, "sync", env=_env())  # nothing journalled: changes nothing, renders nothing
    snaps = sorted((project / ".git" / "sggit" / "cache").glob("status-*.snap"))
    stamps = {p.name: p.stat().st_mtime_ns for p in snaps}
    sggit(project, "run", "bridge_create", "--phenotype", PHENOTYPE, "--input", BRIDGE, env=_env())
    assert len(snaps) == 6 and fast_status.REFRESH_LIMIT == 4
    oldest = sorted(stamps, key=stamps.__getitem__)[:2]
    refreshed = {p.name for p in snaps if p.stat().st_mtime_ns != stamps[p.name]}
    assert refreshed == set(stamps) - set(oldest)
    assert served(project) is None and served(project, "--format", "json") is None  # the two oldest: full, once
    assert served(project, "--phenotype", PHENOTYPE) == full(project, "--phenotype", PHENOTYPE)


def test_a_command_that_changed_nothing_rewrites_no_kept_output(project: Path) -> None:
    snaps = sorted((project / ".git" / "sggit" / "cache").glob("status-*.snap"))
    stamps = [p.stat() for p in snaps]
    sggit(project, "lineage", "bridge_create", env=_env())
    assert [(s.st_ino, s.st_mtime_ns) for s in (p.stat() for p in snaps)] == [(s.st_ino, s.st_mtime_ns) for s in stamps]


def test_a_refresh_racing_records_written_meanwhile_keeps_nothing_stale(project: Path) -> None:
    genome = Genome.open(project)
    allele = alleles_at(genome, "bridge_create")[0]
    for _ in range(4):
        record(genome, Record(allele=allele, locus="bridge_create", ok=True))
        proc = subprocess.Popen([sys.executable, "-m", "sggit", "sync"], cwd=project, env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(100):  # a record every 10 ms for as long as the command runs, at most 1 s
            if proc.poll() is not None:
                break
            record(genome, Record(allele=allele, locus="bridge_create", ok=False, error="racing"))
            time.sleep(0.01)
        assert proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
        for args in OPTIONS:
            parsed = fast_status.options(list(args))
            assert parsed is not None
            kept = fast_status.kept_output(*parsed, start=str(project))
            assert kept is None or kept == full(project, *args), "a stale status would be printed"


def test_a_command_killed_while_it_refreshes_leaves_no_torn_or_stale_output(project: Path) -> None:
    genome = Genome.open(project)
    allele = alleles_at(genome, "bridge_create")[0]
    cache = project / ".git" / "sggit" / "cache"
    started = time.perf_counter()
    sggit(project, "sync", env=_env())
    whole = time.perf_counter() - started
    for i in range(8):
        record(genome, Record(allele=allele, locus="bridge_create", ok=True))
        proc = subprocess.Popen([sys.executable, "-m", "sggit", "sync"], cwd=project, env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(whole * (0.5 + i / 14))  # from mid-command to its end, where the refresh runs
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for args in OPTIONS:
            parsed = fast_status.options(list(args))
            assert parsed is not None
            kept = fast_status.kept_output(*parsed, start=str(project))
            assert kept is None or kept == full(project, *args)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = cache / f"status-text-all.snap.{dead.pid}.tmp"
    orphan.write_bytes(fast_status.MAGIC + b"half")
    live = cache / f"status-json-all.snap.{os.getpid()}.tmp"
    live.write_bytes(fast_status.MAGIC + b"being written")
    record(genome, Record(allele=allele, locus="bridge_create", ok=True))
    sggit(project, "sync", env=_env())
    assert not orphan.exists() and live.exists()
    assert all(p.name.endswith(".snap") for p in cache.glob("status-*") if p != live)


def test_damage_a_command_warned_about_already_keeps_the_refreshed_status_from_being_kept(project: Path) -> None:
    """The command warns once for its process; the status rendered after it in that process must warn too."""
    assert served(project) is not None
    with (project / ".git" / "sggit" / "fitness.journal").open("ab") as journal:
        journal.write(b"{not a record\n")
    done = sggit(project, "report", env=_env())
    assert "damaged journal line skipped" in done.stderr
    assert fast_status.kept_output("text", None, start=str(project)) is None
    again = sggit(project, "status", env=_env())
    assert "damaged journal line skipped" in again.stderr


def test_a_command_on_a_read_only_git_with_stale_kept_outputs_still_succeeds_quietly(project: Path) -> None:
    from tests.cli.test_errors import _read_only_mounts, read_only_git

    reason = _read_only_mounts()
    if reason:
        pytest.skip(reason)
    git(project, "update-ref", "refs/remotes/peer/sggit/genome", "refs/heads/sggit/genome")  # every kept output is stale now
    done = read_only_git(project, "lineage", "bridge_create")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert served(project) is None and served(project) == full(project)
