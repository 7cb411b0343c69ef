"""A call held on the caller's CPU with its worker beside it, and given back whole when it ends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from sggit.runtime.sandbox import WorkerPool
from sggit.runtime.sandbox.placement import Choice, Placed, Placement, current_cpu
from sggit.runtime.sandbox.spin import SpinPolicy

from .helpers import FAST, HEALTHY, gene, needs_landlock, needs_root

ALL = frozenset(os.sched_getaffinity(0))
HOLDING = FAST.model_copy(update={"colocate_calls": True})  # off by default: see docs/performance.md
needs_two_cpus = pytest.mark.skipif(len(ALL) < 2, reason="pinning to one CPU shows only where there are two to choose from")

SLEEPS = gene("""
    import json, time
    def execute(input_json):
        time.sleep(json.loads(input_json)["seconds"])
        return json.dumps({"slept": True})
""")

ASKS_THE_KERNEL = gene("""
    import json, gene_sdk
    def execute(input_json):
        return json.dumps({"seen": gene_sdk.where()})
""")


def _affinity(pid: int) -> frozenset[int]:
    return frozenset(os.sched_getaffinity(pid))


def _pressure(tmp_path, avg10: float) -> SpinPolicy:
    """A pool's gate reading the kernel's CPU pressure as `avg10`, whatever the machine is doing."""
    path = tmp_path / f"cpu-{avg10}"
    path.write_text(f"some avg10={avg10:.2f} avg60=1.00 avg300=0.50 total=1\nfull avg10=0.00 avg60=0 avg300=0 total=0\n")
    return SpinPolicy(200e-6, str(path))


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer counts as quick: on a loaded machine a trivial call can outlast the 1 ms
    that makes a worker quick, and where quickness is the premise, not the subject, that
    would fail the test for the machine's load."""
    from sggit.runtime.sandbox import pool

    monkeypatch.setattr(pool, "_QUICK_SECONDS", 60.0)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def test_current_cpu_is_one_this_thread_may_run_on():
    cpu = current_cpu()
    assert cpu is not None and cpu in ALL


@needs_two_cpus
def test_hold_pins_thread_and_worker_to_one_cpu_and_release_gives_the_thread_back(sleeper):
    placement, placed = Placement(), Placed((sleeper.pid,), alive=lambda: sleeper.poll() is None)
    mine = placement.hold(placed)
    try:
        assert mine == ALL
        pinned = _affinity(0)
        assert len(pinned) == 1 and pinned <= ALL
        assert _affinity(sleeper.pid) == pinned and placed.home in pinned
    finally:
        assert mine is not None
        placement.release(mine)
    assert _affinity(0) == ALL
    assert _affinity(sleeper.pid) == pinned  # stays where it was put until a call comes from elsewhere
    placement.free(placed)
    assert _affinity(sleeper.pid) == ALL and placed.home is None


def _processor(pid: int) -> int:
    """The CPU a process last ran on (field 39 of /proc/PID/stat)."""
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[36])


@needs_two_cpus
def test_a_worker_set_free_is_not_moved_onto_the_callers_cpu(sleeper):
    """Freed, a worker leaves the CPU it was held on, but not for the one its caller now polls on."""
    placement, placed = Placement(), Placed((sleeper.pid,), alive=lambda: sleeper.poll() is None)
    mine = placement.hold(placed)
    assert mine is not None and placed.home is not None
    home = placed.home
    placement.release(mine)
    caller = min(ALL - {home})
    os.sched_setaffinity(0, {caller})
    try:
        placement.free(placed)
        assert _processor(sleeper.pid) != caller
        assert _affinity(sleeper.pid) == ALL and placed.home is None
    finally:
        os.sched_setaffinity(0, ALL)


def test_disabled_placement_touches_nothing(sleeper):
    placement, placed = Placement(enabled=False), Placed((sleeper.pid,))
    assert placement.hold(placed) is None
    assert _affinity(0) == ALL and _affinity(sleeper.pid) == ALL and placed.home is None


def test_a_worker_whose_parent_has_gone_is_not_touched(sleeper):
    placement, placed = Placement(), Placed((sleeper.pid,), alive=lambda: False)
    mine = placement.hold(placed)
    assert mine is not None
    placement.release(mine)
    assert _affinity(sleeper.pid) == ALL  # its pid could have been someone else's by now


def test_a_worker_that_died_does_not_fail_the_hold():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    placement = Placement()
    mine = placement.hold(Placed((gone.pid,)))
    assert mine is not None
    placement.release(mine)
    assert _affinity(0) == ALL


@needs_root
@needs_landlock
@needs_two_cpus
def test_a_warm_call_runs_on_one_cpu_with_its_relay_and_gene_process(tmp_path, patient):
    seen: list[frozenset[int]] = []

    def handler(name: str, args: list, kwargs: dict) -> str:
        seen.append(_affinity(0))  # the calling thread, during the call
        return "here"

    with WorkerPool(HOLDING, size=1, spin=_pressure(tmp_path, 0.0)) as pool:
        assert pool.run("asks", ASKS_THE_KERNEL, "{}", handler=handler).ok
        worker = pool._warm["asks"][0]
        worker.quick = True  # its first answer, which compiled the source, may have been late on a loaded host
        outcome = pool.run("asks", ASKS_THE_KERNEL, "{}", handler=handler)
        assert outcome.ok and json.loads(outcome.output) == {"seen": "here"}, outcome
        relay, gene_pid = worker.placed.pids
        assert relay == worker.proc.pid
        children = open(f"/proc/{relay}/task/{relay}/children").read().split()
        assert [str(gene_pid)] == children  # the relay named its own child, not what the gene wrote
        during = seen[-1]
        assert len(during) == 1
        assert _affinity(relay) == during and _affinity(gene_pid) == during
    assert _affinity(0) == ALL


@needs_root
@needs_landlock
@needs_two_cpus
def test_calls_in_flight_together_are_not_held_and_set_their_worker_free(tmp_path, patient):
    with WorkerPool(HOLDING, size=2, spin=_pressure(tmp_path, 0.0)) as pool:
        assert pool.run("quick", HEALTHY, json.dumps({"n": 1})).ok
        worker = pool._warm["quick"][0]
        assert worker.placed.home is not None and len(_affinity(worker.proc.pid)) == 1
        busy = threading.Thread(target=pool.run, args=("slow", SLEEPS, json.dumps({"seconds": 0.5})))
        busy.start()
        try:
            while pool._running == 0:
                threading.Event().wait(0.001)
            assert pool.run("quick", HEALTHY, json.dumps({"n": 2})).ok
            assert worker.placed.home is None
            assert _affinity(worker.proc.pid) == ALL
        finally:
            busy.join()


@needs_root
@needs_landlock
@needs_two_cpus
def test_a_slow_allele_is_left_free_to_run_anywhere(tmp_path):
    with WorkerPool(HOLDING, size=1, spin=_pressure(tmp_path, 0.0)) as pool:
        for _ in range(2):
            assert pool.run("slow", SLEEPS, json.dumps({"seconds": 0.01})).ok
        worker = pool._warm["slow"][0]
        assert not worker.quick and worker.placed.home is None
        assert _affinity(worker.proc.pid) == ALL and _affinity(worker.placed.pids[1]) == ALL


@needs_root
@needs_landlock
@needs_two_cpus
def test_colocation_off_pins_nothing(tmp_path):
    with WorkerPool(FAST.model_copy(update={"colocate_calls": False}), size=1, spin=_pressure(tmp_path, 0.0)) as pool:
        for n in range(3):
            assert pool.run("quick", HEALTHY, json.dumps({"n": n})).ok
        worker = pool._warm["quick"][0]
        assert worker.placed.home is None and _affinity(worker.proc.pid) == ALL


@needs_root
@needs_landlock
@needs_two_cpus
def test_under_cpu_pressure_calls_are_left_to_the_scheduler(tmp_path, patient):
    with WorkerPool(HOLDING, size=1, spin=_pressure(tmp_path, 90.0)) as pool:
        for n in range(3):
            assert pool.run("quick", HEALTHY, json.dumps({"n": n})).ok
        worker = pool._warm["quick"][0]
        assert worker.quick and worker.placed.home is None and _affinity(worker.proc.pid) == ALL


@needs_root
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv to run without CAP_SYS_NICE")
def test_without_the_right_to_move_a_worker_placement_stops_trying():
    """Pinning another uid's process takes CAP_SYS_NICE: without it, calls are left to the scheduler.

    The orchestrator runs as root without that capability, its worker as nobody, as in a
    container whose capability set leaves it out.
    """
    script = ("import os, subprocess, sys\n"
              "from sggit.runtime.sandbox.placement import Placed, Placement\n"
              "worker = subprocess.Popen(['sleep', '30'], preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))\n"
              "placement, placed = Placement(), Placed((worker.pid,))\n"
              "mine = placement.hold(placed)\n"
              "print(mine is None, placement.enabled, placed.movable, len(os.sched_getaffinity(worker.pid)),"
              " sorted(os.sched_getaffinity(0)) == sorted(map(int, sys.argv[1:])))\n"
              "worker.kill()\n")
    done = subprocess.run(["setpriv", "--bounding-set=-sys_nice", sys.executable, "-c", script,
                           *map(str, sorted(ALL))], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # not held, never tried again, the worker left everywhere, the thread given back its CPUs
    assert done.stdout.split() == ["True", "False", "False", str(len(ALL)), "True"]


def _learn(choice: Choice, placed: Placed, held_seconds: float, free_seconds: float, rounds: int) -> None:
    """Bursts of calls each way, as the pool makes them: the first of each burst moves the worker."""
    for _ in range(rounds):
        for held, seconds in ((True, held_seconds), (False, free_seconds)):
            for n in range(3):
                choice.observe(placed, held, seconds, moved=n == 0)


def test_the_choice_tries_both_ways_then_takes_the_faster_and_keeps_probing_the_other():
    choice, placed = Choice(), Placed((1,))
    assert [choice.wants_hold(placed) for _ in range(2 * Choice.BURST)] == [True] * Choice.BURST + [False] * Choice.BURST
    _learn(choice, placed, held_seconds=330e-6, free_seconds=220e-6, rounds=Choice.FIRST)
    assert not choice.hold
    asked = [choice.wants_hold(placed) for _ in range(Choice.PERIOD * 4)]
    assert asked.count(True) == 4 * Choice.BURST  # one burst in PERIOD still measures holding
    assert "TTTT" in "".join("T" if held else "F" for held in asked)  # in bursts, not scattered


def test_bursts_count_each_workers_own_calls_so_steps_taking_turns_still_get_runs_of_calls():
    choice, steps = Choice(), [Placed((n,)) for n in (1, 2, 3)]
    asked = {id(step): [] for step in steps}
    for _ in range(2 * Choice.BURST):
        for step in steps:
            asked[id(step)].append(choice.wants_hold(step))
    assert all(ways == [True] * Choice.BURST + [False] * Choice.BURST for ways in asked.values())


def test_a_call_that_moved_its_worker_is_not_counted():
    choice, placed = Choice(), Placed((1,))
    for _ in range(Choice.KEPT):
        choice.observe(placed, True, 100e-6, moved=True)
        choice.observe(placed, False, 900e-6, moved=True)
    assert not choice._differences and choice.hold


def test_the_choice_changes_its_mind_when_the_machine_does_and_one_outlier_does_not_move_it():
    choice, placed = Choice(), Placed((1,))
    _learn(choice, placed, held_seconds=100e-6, free_seconds=160e-6, rounds=Choice.KEPT)
    assert choice.hold
    choice.observe(placed, True, 5e-3, moved=False)  # one preempted held call
    assert choice.hold
    _learn(choice, placed, held_seconds=300e-6, free_seconds=200e-6, rounds=Choice.KEPT)
    assert not choice.hold


def test_the_choice_compares_calls_of_one_worker_not_a_slow_allele_with_a_quick_one():
    choice, slow, quick = Choice(), Placed((1,)), Placed((2,))
    for _ in range(Choice.KEPT):
        choice.observe(slow, True, 10e-3, moved=False)  # a slow allele, held
        choice.observe(quick, False, 100e-6, moved=False)  # a quick one, left to the scheduler
    assert choice.hold and not choice._differences


@needs_root
@needs_landlock
@needs_two_cpus
def test_warm_calls_measure_both_ways_on_each_worker(tmp_path):
    with WorkerPool(HOLDING, size=1, spin=_pressure(tmp_path, 0.0)) as pool:
        assert pool.run("quick", HEALTHY, json.dumps({"n": 0})).ok
        worker = pool._warm["quick"][0]
        for n in range(4 * Choice.BURST + 1):
            worker.quick = True  # an answer late on a loaded host would leave the next call out of the comparison
            assert pool.run("quick", HEALTHY, json.dumps({"n": n})).ok
        assert set(worker.placed.last) == {True, False}
        assert len(pool._placement.choice._differences) >= Choice.FIRST
