"""The pool's contract with the orchestrator: outcomes, gene_sdk forwarding, reuse, refusal."""

from __future__ import annotations

import json
import os

import pytest

from sggit.errors import SggitError
from sggit.kernel.api import KernelError
from sggit.runtime.sandbox import SandboxConfig, SandboxUnavailable, WorkerPool

from .helpers import DIG, FAST, HEALTHY, assert_healthy, needs_landlock, needs_root, run


def test_runs_a_gene_and_returns_its_output(pool):
    assert_healthy(pool)


def test_gene_sdk_forwards_any_call_with_args_and_kwargs(pool):
    calls = []

    def handler(name, args, kwargs):
        calls.append((name, args, kwargs))
        return {"handled": name, "n": len(args)}

    outcome = run(pool, """
        import json, gene_sdk
        def execute(input_json):
            a = gene_sdk.create_bridge("br0", ["eth0", "eth1"], stp=True)
            b = gene_sdk.anything_at_all(1.5, None)
            return json.dumps([a, b])
    """, handler=handler)
    assert outcome.ok, outcome
    assert calls == [("create_bridge", ["br0", ["eth0", "eth1"]], {"stp": True}),
                     ("anything_at_all", [1.5, None], {})]
    assert json.loads(outcome.output) == [{"handled": "create_bridge", "n": 2},
                                          {"handled": "anything_at_all", "n": 2}]


def test_kernel_error_is_raised_in_the_gene_as_kernel_error(pool):
    def handler(name, args, kwargs):
        raise KernelError(f"no such device {args[0]}")

    caught = run(pool, """
        import json, gene_sdk
        def execute(input_json):
            try:
                gene_sdk.delete_link("eth9")
            except gene_sdk.KernelError as exc:
                return json.dumps({"caught": str(exc)})
            return json.dumps({"caught": None})
    """, handler=handler)
    assert json.loads(caught.output) == {"caught": "no such device eth9"}

    uncaught = run(pool, """
        import gene_sdk
        def execute(input_json):
            gene_sdk.delete_link("eth7")
    """, handler=handler)
    assert uncaught.error == "exception"
    assert "no such device eth7" in uncaught.message and "line 3" in uncaught.message


def test_without_a_handler_every_kernel_call_fails_in_the_gene(pool):
    outcome = run(pool, """
        import gene_sdk
        def execute(input_json):
            return gene_sdk.list_links()
    """)
    assert outcome.error == "exception"
    assert "no kernel is attached" in outcome.message


def test_unserialisable_sdk_arguments_fail_in_the_gene(pool):
    outcome = run(pool, """
        import gene_sdk
        def execute(input_json):
            gene_sdk.create_bridge({1, 2})
    """, handler=lambda *a: None)
    assert outcome.error == "exception"
    assert "must be JSON values" in outcome.message


@pytest.mark.parametrize("body, kind, words", [
    ("def execute(input_json):\n    return {'not': 'a string'}", "bad_output", "dict, not a JSON string"),
    ("def execute(input_json):\n    return 'not json'", "bad_output", "not JSON"),
    ("def execute(input_json):\n    return 1 / 0", "exception", "ZeroDivisionError"),
    ("def run(input_json):\n    return '{}'", "exception", "defines no execute"),
    ("def execute(input_json):\n    return (", "exception", "SyntaxError"),
    ("def execute(input_json):\n    return '[' * 100000 + ']' * 100000", "bad_output", "nested deeper than 100"),
    ("class E(Exception):\n    def __str__(self):\n        raise E()\n"
     "def execute(input_json):\n    raise E()", "exception", "E: <unprintable> (allele line 5)"),
    ("def execute(input_json):\n    raise ValueError('v' * 10**7)", "exception", "ValueError: vvv"),
])
def test_gene_failures_become_outcomes(pool, body, kind, words):
    outcome = run(pool, body)
    assert (outcome.ok, outcome.error) == (False, kind)
    assert words in outcome.message
    assert_healthy(pool)


@needs_root
@needs_landlock
def test_compiled_allele_is_cached_per_worker_by_id():
    with WorkerPool(FAST, size=1) as single:
        first = single.run("cached", HEALTHY, json.dumps({"n": 1}))
        # Without the cache, an empty source would fail: the worker ran the first source.
        second = single.run("cached", "", json.dumps({"n": 2}))
        assert (first.output, second.output) == ('{"doubled": 2}', '{"doubled": 4}')


def test_warm_worker_is_reused_and_module_state_is_fresh(pool):
    body = """
        import json
        seen = []
        def execute(input_json):
            seen.append(1)
            with open("left.txt", "a") as f:
                f.write("x")
            with open("left.txt") as f:
                return json.dumps({"seen": len(seen), "file": f.read()})
    """
    outputs = [json.loads(run(pool, body, allele="state").output)]
    warm = pool.warm_pids("state")
    outputs += [json.loads(run(pool, body, allele="state").output) for _ in range(3)]
    assert outputs == [{"seen": 1, "file": "x"}] * 4  # fresh globals, scratch wiped between calls
    assert len(warm) == 1 and pool.warm_pids("state") == warm


def test_threads_are_refused_and_the_worker_replaced(pool):
    before = set(pool.worker_pids())
    outcome = run(pool, """
        import json, time
        def execute(input_json):
            for cls in ().__class__.__base__.__subclasses__():
                if cls.__name__ == "_wrap_close":
                    mods = cls.__init__.__globals__["sys"].modules
            mods["_thread"].start_new_thread(time.sleep, (60,))
            return json.dumps("started")
    """)
    assert outcome.error == "forbidden"
    assert "threads are not available" in outcome.message
    assert not before <= set(pool.worker_pids())
    assert_healthy(pool)


@needs_root
@needs_landlock
def test_pool_refuses_to_run_when_a_mechanism_is_missing():
    with pytest.raises(SandboxUnavailable, match="refusing to run genes unconfined.*netns.*seccomp"):
        WorkerPool(SandboxConfig(disable=("seccomp", "netns")), size=1)


@needs_root
@needs_landlock
def test_degraded_mode_runs_and_reports_what_is_missing(caplog):
    config = SandboxConfig(disable=("seccomp", "netns"), allow_degraded=True)
    with caplog.at_level("WARNING", logger="sggit.sandbox"), WorkerPool(config, size=1) as degraded:
        missing = {m.name: m.detail for m in degraded.confinement.missing(("netns", "seccomp", "landlock"))}
        assert missing == {"netns": "disabled by configuration", "seccomp": "disabled by configuration"}
        assert_healthy(degraded)
    assert "DEGRADED" in caplog.text


def test_config_rejects_bad_module_names():
    with pytest.raises(ValueError, match="not a module name"):
        SandboxConfig(allowlist=("json", "os; rm -rf"))


@needs_root
@needs_landlock
def test_closed_pool_refuses_work():
    with WorkerPool(FAST, size=1) as short:
        pass
    with pytest.raises(SggitError, match="closed"):
        short.run("x", HEALTHY, "{}")


def test_unusable_scratch_root_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SggitError, match="cannot create sandbox scratch"):
        WorkerPool(SandboxConfig(scratch_root=blocker / "sub"), size=1)


def test_concurrent_runs_share_the_pool(pool):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=6) as executor:
        outcomes = list(executor.map(lambda n: pool.run("healthy", HEALTHY, json.dumps({"n": n})), range(12)))
    assert [json.loads(o.output)["doubled"] for o in outcomes] == [2 * n for n in range(12)]


def test_time_spent_in_kernel_calls_counts_against_the_deadline(pool):
    """The timeout is wall clock for the whole call: a gene cannot stretch it by sleeping in the kernel."""
    import time

    calls = []

    def slow_kernel(name, args, kwargs):
        calls.append(name)
        time.sleep(0.6)
        return "done"

    outcome = run(pool, """
        import json, gene_sdk
        def execute(input_json):
            return json.dumps([gene_sdk.sleep(2) for _ in range(10)])
    """, handler=slow_kernel, timeout=1.0)
    assert outcome.error == "timeout"
    assert "kernel calls included" in outcome.message
    assert len(calls) == 2  # the call that crossed the deadline is the last one performed


@needs_root
@needs_landlock
def test_least_recently_used_warm_worker_is_evicted():
    config = FAST.model_copy(update={"warm_workers": 2})
    with WorkerPool(config, size=1) as small:
        for name in ("a", "b"):
            assert small.run(name, HEALTHY, json.dumps({"n": 1})).ok
        first_a = small.warm_pids("a")
        assert small.run("a", HEALTHY, json.dumps({"n": 1})).ok  # a is now the most recently used
        assert small.run("c", HEALTHY, json.dumps({"n": 1})).ok
        assert (small.warm_pids("a"), small.warm_pids("b"), len(small.warm_pids("c"))) == (first_a, [], 1)
        # An evicted allele starts again in a fresh worker, from its source.
        assert small.run("b", HEALTHY, json.dumps({"n": 3})).output == '{"doubled": 6}'


def test_oversized_output_is_bad_output(pool):
    outcome = run(pool, """
        import json
        def execute(input_json):
            return json.dumps("x" * (2 * 2**20))
    """)
    assert outcome.error == "bad_output"
    assert "exceeds 1048576" in outcome.message


@needs_root
@needs_landlock
def test_workers_replaced_from_a_short_lived_thread_outlive_it():
    """PR_SET_PDEATHSIG follows the spawning thread, so spawning must not happen on callers' threads."""
    import threading
    import time

    with WorkerPool(FAST, size=1) as single:
        def timed_out() -> None:
            single.run("spin", "def execute(input_json):\n    while True:\n        pass\n", "{}", timeout=0.2)
            assert_healthy(single)  # the replacement is up before this thread ends

        thread = threading.Thread(target=timed_out)
        thread.start()
        thread.join()
        time.sleep(0.3)  # the parent-death signal is asynchronous; give it time to strike if it would
        assert_healthy(single)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@needs_root
@needs_landlock
def test_workers_evicted_discarded_killed_or_dead_leave_no_descriptor_open():
    """A long-running orchestrator must not gain a pipe with each worker it retires."""
    config = FAST.model_copy(update={"warm_workers": 1})
    counts = []
    for _ in range(3):
        with WorkerPool(config, size=1) as small:
            assert small.run("a", HEALTHY, json.dumps({"n": 1})).ok
            assert small.run("b", HEALTHY, json.dumps({"n": 1})).ok  # evicts a's worker
            assert small.warm_pids("a") == []
            assert small.run("forbidden", "import os\ndef execute(input_json):\n    return '1'\n", "{}").error == "forbidden"
            spin = small.run("spin", "def execute(input_json):\n    while True:\n        pass\n", "{}", timeout=0.3)
            assert spin.error == "timeout"
            segfault = small.run("segfault", DIG + "def execute(input_json):\n    _ct['string_at'](0)\n", "{}")
            assert (segfault.error, "SIGSEGV" in segfault.message) == ("crash", True)
            assert_healthy(small)
        counts.append(_open_descriptors())
    assert counts[-1] == counts[0], counts


@needs_root
@needs_landlock
def test_cancel_ends_the_call_in_flight_keeps_no_worker_of_it_and_the_pool_goes_on():
    """What an interrupted pathway does for the steps its threads are in (docs/contract-language.md §5)."""
    import threading

    spin = "def execute(input_json):\n    while True:\n        pass\n"
    with WorkerPool(FAST.model_copy(update={"timeout_seconds": 600.0, "cpu_seconds_per_call": 600}), size=1) as pool:
        came_back: list = []
        thread = threading.Thread(target=lambda: came_back.append(pool.run("spin", spin, "{}")))
        thread.start()
        while not pool._busy:
            threading.Event().wait(0.005)
        pool.cancel()
        thread.join(timeout=60)  # without cancel, neither the 600 s timeout nor the CPU limit would end it by then
        assert not thread.is_alive()
        [outcome] = came_back
        assert (outcome.ok, outcome.error) == (False, "cancelled"), outcome
        assert "interrupted" in outcome.message
        assert "spin" not in pool._warm and not pool._busy
        assert_healthy(pool)
