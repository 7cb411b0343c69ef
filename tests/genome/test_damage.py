"""Damaged data and bad input meet the user as a named warning or a located error, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sggit.genome.fitness import Record
from sggit.genome.repo import Genome
from sggit.genome.sync import journal_path, record, sync, total_counters
from tests.genome.helpers import git
from tests.helpers import sg_in, sggit

PATHWAY = "provision_management_bridge"
INPUT = {"management_bridge": "mgmt", "uplink_interface": "eno1"}


@pytest.fixture
def shipped(repo_dir: Path) -> Path:
    """The shipped network genome, initialised and run once, its fitness synced."""
    sg_in(repo_dir, "init")
    sggit(repo_dir, "run", PATHWAY, "--phenotype", "dell_r740", "--input", json.dumps(INPUT))
    sggit(repo_dir, "sync")
    return repo_dir


def _dominant(repo: Path, locus: str) -> str:
    status = json.loads(sggit(repo, "status", "--phenotype", "dell_r740", "--format", "json").stdout)
    return next(r["dominant"] for r in status["phenotypes"][0]["loci"] if r["locus"] == locus)


def _calls(repo: Path) -> dict[str, int]:
    done = sggit(repo, "status", "--phenotype", "dell_r740", "--format", "json")
    return {r["locus"]: r["invocations"] for r in json.loads(done.stdout)["phenotypes"][0]["loci"]}


def test_garbage_fitness_notes_from_this_host_and_a_peer_are_skipped_named_and_listed(shipped: Path) -> None:
    create, uplink = _dominant(shipped, "bridge_create"), _dominant(shipped, "bridge_uplink")
    assert _calls(shipped)["bridge_uplink"] == 1
    git(shipped, "notes", "--ref", "sggit/fitness/testhost", "add", "-f", "-m", "garbage{", create)
    git(shipped, "notes", "--ref", "sggit/fitness/peer", "add", "-f", "-m", "garbage{", create)
    git(shipped, "notes", "--ref", "sggit/fitness/peer", "add", "-f", "-m", json.dumps({"locus": "bridge_uplink", "total": 4, "successes": 4}), uplink)
    own, peer = f"refs/notes/sggit/fitness/testhost:{create}", f"refs/notes/sggit/fitness/peer:{create}"

    done = sggit(shipped, "status", "--phenotype", "dell_r740", "--format", "json")
    assert own in done.stderr and peer in done.stderr and "damaged fitness note skipped" in done.stderr
    calls = {r["locus"]: r["invocations"] for r in json.loads(done.stdout)["phenotypes"][0]["loci"]}
    assert calls["bridge_create"] == 0 and calls["bridge_uplink"] == 5  # the peer's good note still counts
    again = sggit(shipped, "status", "--phenotype", "dell_r740", "--format", "json")  # answered from the view cache
    assert own in again.stderr and peer in again.stderr and again.stdout == done.stdout
    shown = sggit(shipped, "show", create, "--format", "json")
    assert own in shown.stderr and json.loads(shown.stdout)["loci"][0]["fitness_by_host"] == {}

    doctor = sggit(shipped, "doctor", "--format", "json", code=None)
    assert doctor.returncode == 1
    damaged = [c["detail"] for c in json.loads(doctor.stdout) if c["name"] == "damaged fitness note"]
    assert sorted(d.split(": ")[0] for d in damaged) == sorted([own, peer])

    sggit(shipped, "run", PATHWAY, "--phenotype", "dell_r740", "--input", json.dumps({"management_bridge": "mgmt2", "uplink_interface": "eno2"}))
    sggit(shipped, "sync")
    # Our own note was rewritten from the journal; the peer's stays as the peer wrote it.
    assert json.loads(git(shipped, "notes", "--ref", "sggit/fitness/testhost", "show", create).stdout)["total"] == 1
    assert git(shipped, "notes", "--ref", "sggit/fitness/peer", "show", create).stdout.strip() == "garbage{"
    assert _calls(shipped)["bridge_uplink"] == 6


@pytest.mark.parametrize("counts, said", [
    ({"total": 1000, "successes": 999999}, "successes 999999 of total 1000"),
    ({"total": -5}, "total is -5"),
    ({"total": 2, "successes": 2, "convergence_total": 1, "convergence_ok": 3}, "convergence_ok 3 of convergence_total 1"),
    ({"total": 5.0, "successes": 5}, "total is 5.0: a count is a whole number"),
    ({"total": "5", "successes": 5}, 'total is "5"'),
    ({"total": True, "successes": True}, "total is true"),
    ({"total": 10**30, "successes": 10**30}, "total is 1000000000000000000000000000000"),
    ({"total": 0, "phenotypes": {"dell_r740": {"total": 10, "successes": 10}}}, "phenotypes: their total add up to more than total 0"),
    ({"total": 1, "successes": 1, "streak": 10**30}, "streak is 1000000000000000000000000000000"),
    ({"total": 1, "successes": 1, "last_time": float("inf")}, "last_time is Infinity: not a moment"),
])
def test_a_peer_note_no_run_of_outcomes_could_count_is_damaged(shipped: Path, counts: dict, said: str) -> None:
    """A forged note (more successes than calls, a negative count) would lift or sink an allele on every host."""
    create = _dominant(shipped, "bridge_create")
    git(shipped, "notes", "--ref", "sggit/fitness/peerx", "add", "-f", "-m", json.dumps({"locus": "bridge_create", **counts}), create)
    where = f"refs/notes/sggit/fitness/peerx:{create}"
    done = sggit(shipped, "status", "--phenotype", "dell_r740", "--format", "json")
    assert where in done.stderr and said in done.stderr
    row = next(r for r in json.loads(done.stdout)["phenotypes"][0]["loci"] if r["locus"] == "bridge_create")
    assert row["invocations_all"] >= 0 and (row["fitness"] is None or row["fitness"] <= 1.0)
    doctor = sggit(shipped, "doctor", "--format", "json", code=1)
    assert [c["detail"].split(": ")[0] for c in json.loads(doctor.stdout) if c["name"] == "damaged fitness note"] == [where]


@pytest.mark.parametrize("change, said", [
    ({"time": float("inf")}, "time"),
    ({"time": float("nan")}, "time"),
    ({"generation": -3}, "generation"),
    ("self", "is named among its own parents"),
])
def test_a_lineage_note_no_history_could_write_is_damaged(shipped: Path, change: object, said: str) -> None:
    create = _dominant(shipped, "bridge_create")
    note = {"locus": "bridge_create", "origin": "manual", "host": "peer", "time": 1.0, "generation": 0}
    note.update({"parents": [create]} if change == "self" else change)  # type: ignore[arg-type]
    git(shipped, "notes", "--ref", "sggit/lineage", "add", "-f", "-m", json.dumps(note), create)
    where = f"refs/notes/sggit/lineage:{create}"
    for command in (("show", create), ("why", create), ("lineage", "bridge_create")):
        done = sggit(shipped, *command)
        assert done.returncode == 0 and where in done.stderr and said in done.stderr, (command, done.stderr)
    doctor = sggit(shipped, "doctor", "--format", "json", code=1)
    assert [c["detail"].split(": ")[0] for c in json.loads(doctor.stdout) if c["name"] == "damaged lineage note"] == [where]


def test_a_promotion_branch_whose_block_is_not_json_is_skipped_and_named(shipped: Path) -> None:
    tree = git(shipped, "write-tree").stdout.strip()
    commit = git(shipped, "commit-tree", tree, "-m", "p\n<!-- sggit-promotion: {garbage -->").stdout.strip()
    git(shipped, "branch", "-f", "sggit/promote/dell_r740/bridge_create", commit)
    done = sggit(shipped, "report", "--out", str(shipped / "out"), "--format", "markdown")
    assert done.returncode == 0 and "sggit/promote/dell_r740/bridge_create" in done.stderr and "not JSON" in done.stderr


def test_a_garbage_lineage_note_is_skipped_and_named(shipped: Path) -> None:
    create = _dominant(shipped, "bridge_create")
    git(shipped, "notes", "--ref", "sggit/lineage", "add", "-f", "-m", "garbage{", create)
    shown = sggit(shipped, "show", create, "--format", "json")
    assert f"refs/notes/sggit/lineage:{create}" in shown.stderr
    view = json.loads(shown.stdout)
    assert [(at["locus"], at["lineage"]) for at in view["loci"]] == [("bridge_create", None)]
    assert sggit(shipped, "lineage", "bridge_create").returncode == 0
    sggit(shipped, "report", "--out", str(shipped / "out"), "--format", "markdown")


def test_a_damaged_journal_line_is_skipped_and_named_and_its_neighbours_are_kept(genome: Genome) -> None:
    allele = "ab" * 20
    for ok in (True, True):
        record(genome, Record(allele=allele, locus="l", ok=ok))
    with journal_path(genome).open("ab") as f:
        f.write(b'\n{"allele": "not an id", "ok": tru\n')
    record(genome, Record(allele=allele, locus="l", ok=False, error="late"))
    from sggit.genome.damage import scan

    found = scan(genome)
    assert [(d.kind, d.where) for d in found] == [("journal line", f"{journal_path(genome)}:6")]
    result = sync(genome)
    assert result.records == 3
    counters = total_counters(genome, "l", allele)
    assert (counters.total, counters.successes, counters.last_failure.error if counters.last_failure else None) == (3, 2, "late")


def test_a_lone_surrogate_from_a_gene_is_journaled_and_folded_intact(genome: Genome) -> None:
    allele = "cd" * 20
    record(genome, Record(allele=allele, locus="l", ok=False, error="boom \ud800 here", input={"k": "\udfff"}))
    assert sync(genome).records == 1
    failure = total_counters(genome, "l", allele).last_failure
    assert failure is not None and failure.error == "boom \ud800 here" and failure.input == {"k": "\udfff"}


def test_a_lone_surrogate_in_input_is_a_located_error(shipped: Path) -> None:
    done = sggit(shipped, "run", PATHWAY, "--phenotype", "dell_r740", "--input", '{"management_bridge": "m\\ud800", "uplink_interface": "eno1"}', code=2)
    assert "--input: $.management_bridge: lone surrogate \\ud800" in done.stderr


def test_input_nested_100k_deep_is_a_located_error(shipped: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"management_bridge": ' + "[" * 100_000 + "]" * 100_000 + "}")
    done = sggit(shipped, "run", PATHWAY, "--phenotype", "dell_r740", "--input", f"@{deep}", code=2)
    assert f"{deep}:1:" in done.stderr and "nested 100001 levels deep" in done.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0"])
def test_timeout_must_be_a_positive_finite_number(shipped: Path, value: str) -> None:
    for args in (["run", PATHWAY, "--input", json.dumps(INPUT)], ["deploy", "production_server"]):
        result = sg_in(shipped, *args, "--phenotype", "dell_r740", "--timeout", value, code=2)
        assert "Invalid value for '--timeout'" in result.output and value in result.output


def test_a_journal_path_that_is_a_directory_is_a_clear_error_and_left_alone(shipped: Path) -> None:
    journal = Genome.open(shipped).state_dir / "fitness.journal"
    if journal.exists():
        journal.unlink()
    journal.mkdir()
    (journal / "keep").write_text("x")
    for args in (["run", PATHWAY, "--phenotype", "dell_r740", "--input", json.dumps(INPUT)], ["sync"]):
        done = sggit(shipped, *args, code=1)
        assert f"the fitness journal {journal} is a directory" in done.stderr
    assert (journal / "keep").read_text() == "x"


def _doctor_says(repo: Path) -> dict[str, list[str]]:
    done = sggit(repo, "doctor", "--format", "json", code=1)
    found: dict[str, list[str]] = {}
    for check in json.loads(done.stdout):
        if not check["ok"]:
            found.setdefault(check["name"], []).append(check["detail"])
    return found


def test_doctor_names_the_damage_that_stops_other_commands(shipped: Path, tmp_path: Path) -> None:
    """Not only what commands skip with a warning: what makes them fail, and how to repair it."""
    state = Genome.open(shipped).state_dir
    journal, mock = state / "fitness.journal", state / "mock-dell_r740.json"
    if journal.exists():
        journal.unlink()
    journal.mkdir()
    mock.write_text(mock.read_text()[:100])
    worktree = tmp_path / "pheno"
    git(shipped, "worktree", "add", "-q", str(worktree), "phenotype/supermicro_x11")
    toml = worktree / "phenotypes" / "supermicro_x11.toml"
    toml.write_text(toml.read_text() + "garbage [[[\n")
    git(worktree, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qam", "bad", "--no-verify")
    said = _doctor_says(shipped)
    assert said["damaged journal"] == [f"{journal}: cannot be read: Is a directory"]
    assert said["damaged mock host"][0].startswith(f"{mock}: not JSON") and "mock-reset --phenotype dell_r740" in said["damaged mock host"][0]
    (head,) = said["damaged phenotype head"]
    assert head.startswith("phenotype/supermicro_x11: ") and "invalid TOML" in head and "sggit rollback --phenotype supermicro_x11" in head
    assert not any("(skipped when read)" in d for d in said["damaged journal"] + said["damaged phenotype head"])
    git(shipped, "update-ref", "-d", "refs/heads/sggit/genome")
    assert "is missing while phenotypes name alleles" in _doctor_says(shipped)["damaged genome branch"][0]


def test_doctor_names_a_state_directory_that_is_a_file(shipped: Path) -> None:
    state = Genome.open(shipped).state_dir
    shutil.rmtree(state)
    state.write_text("not a directory\n")
    assert _doctor_says(shipped)["damaged state directory"] == [f"{state}: is not a directory; sggit keeps its journal and state there"]


def _can_mount_read_only() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /mnt && mount -o remount,ro /mnt"],
                          capture_output=True)
    return done.returncode == 0


@pytest.mark.skipif(not _can_mount_read_only(), reason="needs root and mount namespaces (unshare -m) for a read-only bind mount")
def test_a_read_only_git_is_reported_by_run_register_sync_and_rollback(shipped: Path) -> None:
    """`.git` is bind-mounted read-only in a private mount namespace: the kernel refuses writes even to root,
    unlike chmod. Each command must say so and change nothing."""
    allele = shipped / "mine.py"
    allele.write_text("def execute(input_json):\n    return input_json\n")
    record(Genome.open(shipped), Record(allele="ef" * 20, locus="bridge_create", ok=True))
    before = git(shipped, "for-each-ref").stdout
    commands = {
        "run": ["run", PATHWAY, "--phenotype", "dell_r740", "--input", json.dumps({"management_bridge": "ro", "uplink_interface": "eno3"})],
        "register": ["register", "bridge_create", str(allele)],
        "sync": ["sync"],
        "rollback": ["rollback", "--phenotype", "dell_r740"],
    }
    git_dir = shipped / ".git"
    for name, args in commands.items():
        script = f'mount --bind "{git_dir}" "{git_dir}" && mount -o remount,bind,ro "{git_dir}" && exec "$@"'
        done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", sys.executable, "-m", "sggit", *args],
                              cwd=shipped, capture_output=True, text=True, env={**os.environ, "SGGIT_HOST": "testhost"})
        assert done.returncode == 1, (name, done.stdout, done.stderr)
        assert "Read-only file system" in done.stderr and "Traceback" not in done.stderr, (name, done.stderr)
    assert git(shipped, "for-each-ref").stdout == before
    assert sync(Genome.open(shipped)).records == 1  # the pending record survived every refused command


def test_truncated_producer_fusion_and_due_files_are_reported_and_recovered(genome: Genome, capsys: pytest.CaptureFixture[str]) -> None:
    from sggit.genome.damage import scan
    from sggit.runtime.fusion import Reinforcement
    from sggit.runtime.temporal import CheckCall, DueCheck, ProducerIndex, pending_due, record_due

    first, second = "1" * 40, "2" * 40
    producers = ProducerIndex(genome, "p")
    producers.record("bridge_create", {"bridge_name": "a"}, first)
    producers.record("bridge_create", {"bridge_name": "b"}, second)
    text = producers.path.read_text()
    producers.path.write_text(text[: text.index(second) + 10])

    streaks = Reinforcement(genome, "p")
    streaks.observe("one", True, {"l": first})
    streaks.observe("two", True, {"l": second})
    text = streaks.path.read_text()
    streaks.path.write_text(text[: text.rindex(second) + 5])

    def due(target: str) -> DueCheck:
        return DueCheck(phenotype="p", target=target, origin="gene", checks=[CheckCall(locus="c", input={})], due=1.0, clock="virtual")

    record_due(genome, due("x"))
    due_file = genome.state_dir / "temporal" / "due.jsonl"
    with due_file.open("a") as f:
        f.write('\n{"phenotype": "p", "target": "torn", "ori')
    record_due(genome, due("y"))

    found = {d.where.split(":")[0] for d in scan(genome)}  # the fusion streaks are an append-only log: a torn line
    assert found == {str(producers.path), str(streaks.path), str(due_file)}
    capsys.readouterr()
    assert producers.producer("bridge_create", ["a"]) == first and producers.producer("bridge_create", ["b"]) is None
    assert list(streaks.load().pathways) == ["one"] and streaks.load().pathways["one"].count == 1
    assert [d.target for d in pending_due(genome)] == ["x", "y"]
    err = capsys.readouterr().err
    assert f"{producers.path}: damaged producer index skipped: not whole JSON; recovered 1 entr(ies)" in err
    assert f"{due_file}:4: damaged state line skipped" in err
