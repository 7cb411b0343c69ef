"""Nothing of a sandbox outlives its organism: not its workers, not its scratch directories."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sggit.runtime.sandbox import WorkerPool
from sggit.runtime.sandbox.leftovers import LOCK

from .helpers import FAST, needs_landlock, needs_root

ROOT = str(Path(__file__).resolve().parents[2])

# An organism that runs one allele trying to survive it, prints its workers, then waits to be killed.
ORGANISM = """
import json, sys, time
from pathlib import Path
from sggit.runtime.sandbox import WorkerPool
from tests.sandbox.helpers import DIG, FAST, gene

pool = WorkerPool(FAST.model_copy(update={"scratch_root": Path(sys.argv[1])}), size=1)
immortal = gene(DIG + '''
def execute(input_json):
    rc = libc.prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG, 0: do not die with the organism
    return json.dumps([rc, get_errno()])
''')
outcome = pool.run("immortal", immortal, "{}")
print(json.dumps({"output": outcome.output, "pids": pool.worker_pids()}), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                members.append(int(entry))
    return members


@needs_root
@needs_landlock
def test_no_worker_survives_a_killed_organism_and_its_scratch_goes_next_start(tmp_path):
    organism = subprocess.Popen([sys.executable, "-c", ORGANISM, str(tmp_path)], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": ROOT}, stdout=subprocess.PIPE, text=True)
    try:
        report = json.loads(organism.stdout.readline())
        workers = report["pids"]
        assert workers and all(_group_members(pid) for pid in workers)  # each worker's group is alive
    finally:
        organism.kill()
        organism.wait()
    assert json.loads(report["output"]) == [-1, 1]  # EPERM from seccomp
    deadline = time.monotonic() + 30
    while any(_group_members(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _group_members(pid)]
    left = [p for p in tmp_path.iterdir() if p.name.startswith("sggit-sandbox-")]
    assert len(left) == 1  # the killed organism could not clean up
    with WorkerPool(FAST.model_copy(update={"scratch_root": tmp_path}), size=1):
        assert not left[0].exists()


@needs_root
@needs_landlock
def test_only_directories_no_live_pool_owns_are_swept(tmp_path):
    dead = tmp_path / "sggit-sandbox-dead"
    locked = dead / "worker-x" / "scratch" / "locked"
    locked.mkdir(parents=True)
    (locked / "secret").write_text("x")
    locked.chmod(0)
    (dead / LOCK).write_text("")
    live = tmp_path / "sggit-sandbox-live"
    live.mkdir()
    held = os.open(live / LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    unrelated = tmp_path / "other-dir"
    unrelated.mkdir()
    try:
        with WorkerPool(FAST.model_copy(update={"scratch_root": tmp_path}), size=1) as pool:
            assert not dead.exists()
            assert live.exists() and unrelated.exists()
            mine = [p for p in tmp_path.iterdir() if p.name.startswith("sggit-sandbox-") and p != live]
            assert len(mine) == 1  # the running pool's own directory
            # A second pool while the first lives leaves the first's directory alone.
            with WorkerPool(FAST.model_copy(update={"scratch_root": tmp_path}), size=1):
                assert mine[0].exists()
            assert pool.run("a", "def execute(input_json):\n    return input_json\n", "[1]").output == "[1]"
    finally:
        os.close(held)


def test_sweeping_needs_no_worker(tmp_path):
    from sggit.runtime.sandbox.leftovers import sweep_leftovers

    fresh = tmp_path / "sggit-sandbox-being-created"  # no lock file yet, and young: maybe a pool starting now
    fresh.mkdir()
    old = tmp_path / "sggit-sandbox-from-before-locks"
    old.mkdir()
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert sweep_leftovers(tmp_path) == [old]
    assert fresh.exists() and not old.exists()
