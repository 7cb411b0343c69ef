"""The reinforcement log: shared between processes, compacted, and never losing an acknowledged run to SIGKILL."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
from pathlib import Path

import pytest

from sggit.genome.repo import Genome
from sggit.runtime.fusion_state import Reinforcement
from tests.crash import kill_writers

A, B = "a" * 40, "b" * 40
WRITERS = 3
ROUNDS = int(os.environ.get("SGGIT_CRASH_ROUNDS", "8"))


def test_two_processes_count_one_streak(genome: Genome) -> None:
    first, second = Reinforcement(genome, "dell_r740"), Reinforcement(genome, "dell_r740")
    assert first.observe("p", True, {"x": A}).count == 1
    assert second.observe("p", True, {"x": A}).count == 2
    assert first.observe("p", True, {"x": A}).count == 3
    second.reset("p")
    assert first.observe("p", True, {"x": A}).count == 1
    assert second.observe("p", True, {"x": B}).count == 1
    assert Reinforcement(genome, "dell_r740").load().pathways["p"].alleles == {"x": B}


def test_each_run_is_one_appended_line(genome: Genome) -> None:
    book = Reinforcement(genome, "dell_r740")
    book.observe("p", True, {"x": A})
    size = book.path.stat().st_size
    inode = book.path.stat().st_ino
    book.observe("p", True, {"x": A})
    grown = book.path.read_bytes()[size:]
    assert book.path.stat().st_ino == inode and grown.count(b"\n") == 2 and grown.startswith(b"\n")


def test_compaction_keeps_every_streak_and_other_readers_follow(genome: Genome) -> None:
    small = Reinforcement(genome, "dell_r740", compact_at=600)
    other = Reinforcement(genome, "dell_r740")
    assert other.observe("q", True, {"y": B}).count == 1
    inode = small.path.stat().st_ino
    for number in range(1, 30):
        assert small.observe("p", True, {"x": A}).count == number
    assert small.path.stat().st_ino != inode, "the log was never compacted"
    assert small.path.stat().st_size < 600
    assert other.observe("q", True, {"y": B}).count == 2
    assert other.observe("p", True, {"x": A}).count == 30


def test_a_torn_line_is_skipped(genome: Genome) -> None:
    book = Reinforcement(genome, "dell_r740")
    book.observe("p", True, {"x": A})
    with open(book.path, "ab") as handle:
        handle.write(b'\n{"p": "p", "ok": tr')
    assert Reinforcement(genome, "dell_r740").observe("p", True, {"x": A}).count == 2
    assert Reinforcement(genome, "dell_r740").load().pathways["p"].count == 2


def _writer(repo: str, wid: int, log_path: str) -> None:
    book = Reinforcement(Genome.open(repo), "dell_r740", compact_at=4096)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    while True:
        os.write(log, b"try\n")
        count = book.observe(f"p{wid}", True, {"x": A, "w": f"{wid:040x}"}).count
        os.write(log, f"ack {count}\n".encode())


@pytest.mark.slow
def test_sigkilled_runs_lose_no_acknowledged_run(genome: Genome, tmp_path: Path) -> None:
    """Writers sharing one log (compacting it often) are killed at random moments, round after round."""
    logs = [tmp_path / f"writer{w}.log" for w in range(WRITERS)]
    rnd = random.Random(99)
    for _ in range(ROUNDS):
        kill_writers(_writer, [(str(genome.workdir), w, str(logs[w])) for w in range(WRITERS)], rnd.uniform(0.05, 0.5))
    final = Reinforcement(genome, "dell_r740").load().pathways
    for wid, log in enumerate(logs):
        tried = acked = 0
        for line in log.read_text().splitlines():
            if line == "try":
                tried += 1
            elif line.startswith("ack "):
                acked += 1
                count = int(line.split()[1])
                assert acked <= count <= tried, f"writer {wid}: streak {count} after {acked} acknowledged of {tried} tried runs"
        assert acked > 0
        assert acked <= final[f"p{wid}"].count <= tried


def test_a_forked_child_takes_its_own_lock(genome: Genome, tmp_path: Path) -> None:
    """Parent and child share one Reinforcement; every count is handed out once."""
    book = Reinforcement(genome, "dell_r740")
    assert book.observe("p", True, {"x": A}).count == 1
    out = tmp_path / "child"
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_count_into, args=(book, str(out), 300))
    child.start()
    mine = [book.observe("p", True, {"x": A}).count for _ in range(300)]
    child.join()
    assert child.exitcode == 0
    theirs = [int(line) for line in out.read_text().split()]
    assert sorted([1, *mine, *theirs]) == list(range(1, 602))


def _count_into(book: Reinforcement, path: str, runs: int) -> None:
    counts = [book.observe("p", True, {"x": A}).count for _ in range(runs)]
    Path(path).write_text("\n".join(map(str, counts)))


def test_the_state_file_of_earlier_versions_is_adopted(genome: Genome) -> None:
    legacy = genome.state_dir / "fusion-dell_r740.json"
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_text(json.dumps({"pathways": {"p": {"count": 7, "alleles": {"x": A}}, "q": {"count": 0, "alleles": {}}}}))
    book = Reinforcement(genome, "dell_r740")
    assert book.observe("p", True, {"x": A}).count == 8
    assert not legacy.exists()
    assert Reinforcement(genome, "dell_r740").load().pathways["p"].count == 8
