"""When the pool spins for an answer instead of sleeping, and that spinning never costs a deadline."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from sggit.runtime.sandbox import WorkerPool, protocol
from sggit.runtime.sandbox.protocol import HEADER, BlockingReader, FrameReader, Timeout
from sggit.runtime.sandbox.spin import QUIET_PRESSURE, SpinPolicy, cpu_pressure, quiet

from .helpers import FAST, HEALTHY, gene, needs_landlock, needs_root

WINDOW = 200e-6


def _pressure_file(tmp_path: Path, avg10: float) -> Path:
    """A file in the kernel's /proc/pressure/cpu format with the given `some avg10`."""
    path = tmp_path / "cpu"
    path.write_text(f"some avg10={avg10:.2f} avg60=1.00 avg300=0.50 total=183314201\n"
                    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    return path


def test_pressure_is_read_from_the_some_line(tmp_path):
    assert cpu_pressure(str(_pressure_file(tmp_path, 42.5))) == 42.5


@pytest.mark.parametrize("text", ["", "garbage\n", "some avg10=high avg60=1\n", "some avg60=3.00\n"])
def test_damaged_pressure_file_reads_as_none(tmp_path, text):
    path = tmp_path / "cpu"
    path.write_text(text)
    assert cpu_pressure(str(path)) is None


def test_missing_pressure_file_falls_back_to_the_load_average(tmp_path):
    missing = str(tmp_path / "absent")
    assert cpu_pressure(missing) is None
    assert quiet(missing) == (os.getloadavg()[0] < (os.cpu_count() or 1) / 2)


def test_spins_only_below_the_pressure_threshold(tmp_path):
    assert quiet(str(_pressure_file(tmp_path, QUIET_PRESSURE - 1)))
    assert not quiet(str(_pressure_file(tmp_path, QUIET_PRESSURE)))


def test_policy_rereads_pressure_only_after_its_recheck_interval(tmp_path):
    path = _pressure_file(tmp_path, 1.0)
    policy = SpinPolicy(WINDOW, str(path), recheck=0.5)
    assert policy.current(now=100.0) == WINDOW
    _pressure_file(tmp_path, 90.0)
    assert policy.current(now=100.4) == WINDOW  # the last reading still stands
    assert policy.current(now=100.5) == 0.0
    _pressure_file(tmp_path, 1.0)
    assert policy.current(now=101.0) == WINDOW


def test_zero_window_never_spins_and_never_reads(tmp_path):
    policy = SpinPolicy(0.0, str(tmp_path / "absent"))
    assert policy.current() == 0.0


def _pipe_reader() -> tuple[FrameReader, int]:
    read_end, write_end = os.pipe()
    return FrameReader(read_end, 1 << 20), write_end


def test_spinning_read_times_out_at_its_deadline_not_after_the_spin():
    reader, write_end = _pipe_reader()
    try:
        deadline = time.monotonic() + 0.05
        with pytest.raises(Timeout):
            reader.read(deadline, spin=10.0)  # a spin far past the deadline is cut to it
        assert time.monotonic() >= deadline
    finally:
        os.close(reader.fd)
        os.close(write_end)


def test_spinning_read_returns_a_frame_that_arrives_after_the_spin():
    reader, write_end = _pipe_reader()
    payload = b'{"late": true}'
    writer = threading.Timer(0.02, os.write, (write_end, HEADER.pack(len(payload)) + payload))
    writer.start()
    try:
        assert reader.read(time.monotonic() + 5.0, spin=WINDOW) == payload
    finally:
        writer.join()
        os.close(reader.fd)
        os.close(write_end)


def _yields(monkeypatch) -> list[None]:
    """Each time a reader gives its CPU up while it polls."""
    given: list[None] = []
    real = os.sched_yield
    monkeypatch.setattr(os, "sched_yield", lambda: (given.append(None), real())[1])
    return given


@pytest.mark.parametrize(("linger", "polls"), [(5.0, True), (0.005, True), (0.0, False)])
def test_the_gene_process_polls_for_a_late_frame_only_while_it_lingers(monkeypatch, linger, polls):
    """The worker's side of spinning: it polls, giving the CPU up each time (its relay may need it), then sleeps."""
    given = _yields(monkeypatch)
    read_end, write_end = os.pipe()
    reader = BlockingReader(read_end)
    frame = protocol.stamped(protocol.RUN, b"s" * protocol.STAMP_SIZE, {"late": True})
    writer = threading.Timer(0.05, os.write, (write_end, frame))
    writer.start()
    try:
        assert reader.read(linger) == frame  # a window that ended first still gets the frame, asleep
        assert bool(given) is polls
    finally:
        writer.join()
        os.close(read_end)
        os.close(write_end)


def test_a_frame_already_there_is_read_without_polling(monkeypatch):
    given = _yields(monkeypatch)
    read_end, write_end = os.pipe()
    frame = protocol.stamped(protocol.RUN, b"s" * protocol.STAMP_SIZE, {})
    os.write(write_end, frame)
    try:
        assert BlockingReader(read_end).read(5.0) == frame
        assert given == []
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.fixture
def spinning_pool(tmp_path):
    """A pool told CPUs are free, so whether it spins depends on the worker and the calls in flight."""
    if os.geteuid() != 0:
        pytest.skip("full confinement needs root (namespaces, uid switch)")
    policy = SpinPolicy(WINDOW, str(_pressure_file(tmp_path, 0.0)))
    # Not held on the caller's CPU: a held call is never spun for (see test_placement.py).
    config = FAST.model_copy(update={"answer_spin_seconds": WINDOW, "colocate_calls": False})
    with WorkerPool(config, size=1, spin=policy) as pool:
        yield pool


SLOW = gene("""
    import json, time
    def execute(input_json):
        time.sleep(json.loads(input_json)["sleep"])
        return json.dumps({"slept": True})
""")


@needs_root
@needs_landlock
def test_quick_allele_is_spun_for_and_slow_one_is_waited_for_asleep(spinning_pool):
    # The first call compiles the source; on a loaded host one warm answer may still be late.
    for _ in range(20):
        outcome = spinning_pool.run("quick", HEALTHY, json.dumps({"n": 2}))
        assert outcome.ok and json.loads(outcome.output) == {"doubled": 4}
        quick = spinning_pool._warm["quick"][0]
        if quick.quick:
            break
    assert quick.quick
    with spinning_pool._lock:
        spinning_pool._running += 1  # as while the next call is in flight
    try:
        assert spinning_pool.spin_window(quick) == WINDOW

        assert spinning_pool.run("slow", SLOW, json.dumps({"sleep": 0.01})).ok
        slow = spinning_pool._warm["slow"][0]
        assert not slow.quick
        assert spinning_pool.spin_window(slow) == 0.0
    finally:
        with spinning_pool._lock:
            spinning_pool._running -= 1


@needs_root
@needs_landlock
def test_no_spinning_while_another_call_is_in_flight(spinning_pool):
    assert spinning_pool.run("quick", HEALTHY, json.dumps({"n": 2})).ok
    quick = spinning_pool._warm["quick"][0]
    quick.quick = True
    busy = threading.Thread(target=spinning_pool.run, args=("slow", SLOW, json.dumps({"sleep": 0.5})))
    busy.start()
    try:
        while spinning_pool._running == 0:
            time.sleep(0.001)
        with spinning_pool._lock:
            spinning_pool._running += 1
        try:
            assert spinning_pool.spin_window(quick) == 0.0
        finally:
            with spinning_pool._lock:
                spinning_pool._running -= 1
    finally:
        busy.join()


@needs_root
@needs_landlock
def test_timeout_holds_for_a_spun_for_allele_that_stops_answering(spinning_pool):
    source = gene("""
        import json, time
        def execute(input_json):
            if json.loads(input_json)["hang"]:
                while True:
                    pass
            return json.dumps({"hung": False})
    """)
    assert spinning_pool.run("hangs", source, json.dumps({"hang": False})).ok
    worker = spinning_pool._warm["hangs"][0]
    worker.quick = True  # its first answer, which compiled the source, may have been late on a loaded host
    with spinning_pool._lock:
        spinning_pool._running += 1
    try:
        assert spinning_pool.spin_window(worker) == WINDOW  # the next call spins for it
    finally:
        with spinning_pool._lock:
            spinning_pool._running -= 1
    outcome = spinning_pool.run("hangs", source, json.dumps({"hang": True}), timeout=0.3)
    assert outcome.error == "timeout", outcome


@needs_root
@needs_landlock
@pytest.mark.parametrize(("avg10", "lingers"), [(0.0, True), (90.0, False)])
def test_a_worker_is_asked_to_linger_only_while_the_pool_spins_for_it(tmp_path, monkeypatch, avg10, lingers):
    """Lingering costs the CPU the pool's spinning costs, and pays under the same conditions."""
    sent: list[dict] = []
    real = protocol.stamped

    def stamped(tag: bytes, stamp: bytes, message):
        if tag == protocol.RUN:
            sent.append(dict(message))
        return real(tag, stamp, message)

    monkeypatch.setattr(protocol, "stamped", stamped)
    config = FAST.model_copy(update={"answer_spin_seconds": WINDOW, "colocate_calls": False})
    with WorkerPool(config, size=1, spin=SpinPolicy(WINDOW, str(_pressure_file(tmp_path, avg10)))) as pool:
        assert pool.run("quick", HEALTHY, json.dumps({"n": 1})).ok
        pool._warm["quick"][0].quick = True  # the first answer compiled the source: on a loaded host it may be late
        assert pool.run("quick", HEALTHY, json.dumps({"n": 2})).ok
    assert [m.get("linger") for m in sent][-1] == (WINDOW if lingers else None)


KEEPS_POLLING = gene("""
    import json, gene_sdk
    def execute(input_json):
        if json.loads(input_json)["hostile"]:  # the worker's channel, dug out of gene_sdk: never sleep again
            type(gene_sdk).__getattr__.__closure__[0].cell_contents.linger = 1e9
        return json.dumps({"doubled": 0})
""")


@needs_root
@needs_landlock
@pytest.mark.parametrize("hostile", [True, False])
def test_a_gene_process_kept_busy_after_its_answer_is_scored_and_discarded(tmp_path, hostile):
    """Lingering is the worker's code, so a gene can stretch it; the pool measures the gene process's CPU itself."""
    config = FAST.model_copy(update={"answer_spin_seconds": WINDOW, "colocate_calls": False})
    with WorkerPool(config, size=1, spin=SpinPolicy(WINDOW, str(_pressure_file(tmp_path, 0.0)))) as pool:
        payload = json.dumps({"hostile": hostile})
        assert pool.run("polls", KEEPS_POLLING, payload).ok
        first = pool._warm["polls"][0]
        time.sleep(0.6)
        outcome = pool.run("polls", KEEPS_POLLING, payload)
        if hostile:
            assert outcome.error == "limit" and "kept running after its answers" in outcome.message, outcome
            assert first.proc.poll() is not None and pool._warm.get("polls", []) == []
            assert pool.run("polls", KEEPS_POLLING, payload).ok  # in a fresh worker
        else:
            assert outcome.ok and pool._warm["polls"][0] is first
            for _ in range(300):  # back to back, each lingered through: honest CPU between calls, many times over
                assert pool.run("polls", KEEPS_POLLING, payload).ok
            time.sleep(0.1)
            assert pool.run("polls", KEEPS_POLLING, payload).ok and pool._warm["polls"][0] is first


@needs_root
@needs_landlock
@pytest.mark.parametrize("window", [float("inf"), float("nan")])
def test_a_spin_window_without_bound_asks_for_no_more_than_the_longest_linger(tmp_path, monkeypatch, window):
    sent: list[dict] = []
    real = protocol.stamped
    monkeypatch.setattr(protocol, "stamped", lambda tag, stamp, message: (
        sent.append(dict(message)) if tag == protocol.RUN else None, real(tag, stamp, message))[1])
    config = FAST.model_copy(update={"colocate_calls": False})
    with WorkerPool(config, size=1, spin=SpinPolicy(window, str(_pressure_file(tmp_path, 0.0)))) as pool:
        for n in range(2):
            assert pool.run("quick", HEALTHY, json.dumps({"n": n})).ok
    assert all(m.get("linger", 0.0) <= protocol.MAX_LINGER_SECONDS for m in sent)
