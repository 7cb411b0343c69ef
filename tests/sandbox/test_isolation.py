"""Hostile alleles against each other: forged answers, patched workers, state left behind.

Each test is an allele that attacks the worker it runs in; what must hold is that
no other allele (and no later call) sees the attack, and that the attacker is
scored for what it did.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from sggit.runtime.sandbox import SandboxConfig, WorkerPool

from .helpers import DIG, HEALTHY, assert_healthy, gene, landlock_available, needs_root, run

FRAME = """
def _frame(message, tag=b""):
    body = tag + json.dumps(message).encode()
    return len(body).to_bytes(4, "big") + body
OUT = int(_os["sys"].argv[2])
"""
FORGED = '{"ok": True, "output": "{\\"total\\": 666}", "cpu": 0, "threads": 0}'


@pytest.mark.parametrize("tag", [b"", b"X", b"R"])
def test_frames_the_relay_does_not_expect_discard_the_worker(pool, tag):
    forger = DIG + FRAME + f"""
def execute(input_json):
    for _ in range(5):
        os_.write(OUT, _frame({FORGED}, {tag!r}))
    return json.dumps({{"total": 1}})
"""
    outcome = run(pool, forger, allele=f"forger-{tag!r}")
    assert (outcome.ok, outcome.error) == (False, "forbidden")
    assert "forged or repeated" in outcome.message and "discarded" in outcome.message
    assert pool.warm_pids(f"forger-{tag!r}") == []
    assert_healthy(pool)  # the honest allele that runs next gets its own answer


def _exited(pid: int) -> bool:
    """Whether the worker process `pid` has exited (a zombie until the pool reaps it), waiting up to 5 s."""
    for _ in range(500):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rpartition(")")[2].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.01)
    return False


STAMP = """
def _stamp():
    frame = _os["sys"]._getframe()
    while "channel" not in frame.f_locals:
        frame = frame.f_back
    return frame.f_locals["channel"].stamp
"""


def test_answers_stamped_ahead_of_time_answer_nothing(pool):
    """Done frames for the requests to come, ids guessed right: their nonce cannot be guessed."""
    forger = DIG + FRAME + STAMP + f"""
def execute(input_json):
    serial = int.from_bytes(_stamp()[:8], "big")
    for ahead in range(0, 6):
        os_.write(OUT, _frame({FORGED}, b"D" + (serial + ahead).to_bytes(8, "big") + bytes(8)))
    return json.dumps({{"total": 1}})
"""
    outcome = run(pool, forger, allele="ahead")
    assert (outcome.ok, outcome.error) == (False, "forbidden")
    assert "forged or stale" in outcome.message
    assert pool.warm_pids("ahead") == []
    assert_healthy(pool)


def test_an_answer_stamped_for_no_request_is_scored_not_retried(pool):
    """Id 0 answers no request of any worker: taken for a stale answer, it had the call retried in a fresh
    worker, where the allele sent it again, without end."""
    forger = DIG + FRAME + f"""
def execute(input_json):
    os_.write(OUT, _frame({FORGED}, b"D" + bytes(16)))
    return json.dumps({{"total": 1}})
"""
    outcomes: list = []
    caller = threading.Thread(target=lambda: outcomes.append(run(pool, forger, allele="unstamped")), daemon=True)
    caller.start()
    caller.join(60)
    assert outcomes, "the call was still being retried after 60 s"
    assert (outcomes[0].ok, outcomes[0].error) == (False, "forbidden")
    assert "forged or stale" in outcomes[0].message
    assert_healthy(pool)


def test_a_second_answer_to_the_request_in_flight_ends_the_worker(pool):
    """Stamped right, the first answer is the gene's own (no more than returning it); the relay ends the worker
    at the second, before anything else can run in it."""
    forger = DIG + FRAME + STAMP + f"""
def execute(input_json):
    for _ in range(5):
        os_.write(OUT, _frame({FORGED}, b"D" + _stamp()))
    return json.dumps({{"total": 1}})
"""
    first = run(pool, forger, allele="again")
    assert (first.ok, first.output) == (True, '{"total": 666}')
    held = pool.warm_pids("again")
    assert held and _exited(held[0])
    assert_healthy(pool)
    second = run(pool, forger, allele="again")
    assert second.output == '{"total": 666}'  # answered by a fresh worker
    assert not set(pool.warm_pids("again")) & set(held)


def test_a_done_written_before_the_kernel_replies_discards_the_worker(pool):
    forger = DIG + FRAME + STAMP + f"""
def execute(input_json):
    os_.write(OUT, _frame({{"name": "ping", "args": [], "kwargs": {{}}}}, b"C" + _stamp()))
    os_.write(OUT, _frame({FORGED}, b"D" + _stamp()))
    import time
    time.sleep(3)  # no answer of its own: the worker is discarded before it would write one
    return "1"
"""
    calls = []
    outcome = run(pool, forger, allele="early", handler=lambda name, args, kwargs: calls.append(name) or "pong")
    assert calls == ["ping"]
    assert (outcome.ok, outcome.error) == (False, "forbidden")
    assert "before its gene_sdk call was answered" in outcome.message
    assert_healthy(pool)


def test_a_patched_worker_serves_no_other_allele(pool):
    patcher = DIG + """
def execute(input_json):
    mods = _os["sys"].modules
    mods["json"].dumps = lambda *a, **k: '{"doubled": 777}'
    mods["json"].loads = lambda *a, **k: {"n": -1}
    runner = mods["__main__"].Runner
    runner.serve = lambda self, request: {"ok": True, "output": '{"doubled": 999}', "cpu": 0, "threads": 0}
    return '{"patched": true}'
"""
    assert run(pool, patcher, allele="patcher").output == '{"patched": true}'
    assert run(pool, patcher, allele="patcher").output == '{"doubled": 999}'  # it may fool itself
    honest = pool.run("honest", HEALTHY, json.dumps({"n": 21}))
    assert honest.output == '{"doubled": 42}'
    assert not set(pool.warm_pids("honest")) & set(pool.warm_pids("patcher"))


def test_each_allele_runs_in_a_worker_of_its_own(pool):
    pool.run("pid-a", HEALTHY, json.dumps({"n": 1}))
    pool.run("pid-b", HEALTHY, json.dumps({"n": 1}))
    assert len(pool.warm_pids("pid-a")) == 1 and pool.warm_pids("pid-a") != pool.warm_pids("pid-b")


def test_scratch_is_wiped_whatever_modes_a_gene_leaves(pool):
    body = DIG + """
def execute(input_json):
    before = sorted(os_.listdir("."))
    os_.makedirs("locked/deeper")
    with open("locked/deeper/secret", "w") as handle:
        handle.write("left for the next call")
    os_.chmod("locked/deeper", 0)
    os_.chmod("locked", 0)
    return json.dumps(before)
"""
    assert [run(pool, body, allele="locker").output for _ in range(3)] == ["[]"] * 3
    assert len(pool.warm_pids("locker")) == 1  # wiped in place: the worker stayed usable


LOWER = DIG + """
def execute(input_json):
    rlimit = _os["sys"].modules["resource"]
    if json.loads(input_json) == "lower":
        refused = []
        for lower in (lambda: rlimit.setrlimit(rlimit.RLIMIT_AS, (160 << 20, rlimit.getrlimit(rlimit.RLIMIT_AS)[1])),
                      lambda: rlimit.prlimit(0, rlimit.RLIMIT_AS, (160 << 20, 160 << 20)),
                      lambda: rlimit.setrlimit(rlimit.RLIMIT_NOFILE, (3, 3))):
            try:
                lower()
            except (OSError, ValueError):
                refused.append(True)
        return json.dumps(refused)
    return json.dumps(len(bytearray(256 << 20)))
"""


def test_a_gene_cannot_change_its_limits(pool):
    assert run(pool, LOWER, "lower", allele="lowerer").output == "[true, true, true]"
    held = pool.warm_pids("lowerer")
    assert len(held) == 1  # nothing was changed: the worker stays warm
    assert run(pool, LOWER, "allocate", allele="lowerer", timeout=20).output == str(256 << 20)
    assert pool.warm_pids("lowerer") == held


@pytest.fixture(scope="module")
def no_seccomp():
    if os.geteuid() != 0 or not landlock_available():
        pytest.skip("the rest of the confinement needs root and Landlock")
    config = SandboxConfig(timeout_seconds=20.0, memory_bytes=512 << 20, disable=("seccomp",), allow_degraded=True)
    with WorkerPool(config, size=1) as pool:
        yield pool


def test_without_seccomp_a_limit_the_gene_lowers_does_not_outlive_its_call(no_seccomp):
    lower = DIG + """
def execute(input_json):
    rlimit = _os["sys"].modules["resource"]
    if json.loads(input_json) == "lower":
        rlimit.setrlimit(rlimit.RLIMIT_AS, (160 << 20, rlimit.getrlimit(rlimit.RLIMIT_AS)[1]))
        return '"lowered"'
    return json.dumps(len(bytearray(256 << 20)))
"""
    assert run(no_seccomp, lower, "lower", allele="lowerer").output == '"lowered"'
    assert no_seccomp.warm_pids("lowerer") == []  # limits not as the orchestrator set them: discarded
    assert run(no_seccomp, lower, "allocate", allele="lowerer").output == str(256 << 20)


def test_without_seccomp_hitting_a_limit_the_gene_lowered_is_its_own_exception(no_seccomp):
    outcome = run(no_seccomp, DIG + """
def execute(input_json):
    rlimit = _os["sys"].modules["resource"]
    rlimit.setrlimit(rlimit.RLIMIT_AS, (160 << 20, rlimit.getrlimit(rlimit.RLIMIT_AS)[1]))
    return json.dumps(len(bytearray(256 << 20)))
""")
    assert outcome.error == "exception"
    assert "the gene lowered its own RLIMIT_AS to 167772160 (the sandbox allows 536870912)" in outcome.message


MSG_KEY, SHM_KEY = 0x5E6017, 0x5E6018


def _host_ipc_keys(kind: str) -> set[int]:
    with open(f"/proc/sysvipc/{kind}") as table:
        return {int(line.split()[0]) for line in table.readlines()[1:]}


def test_sysv_ipc_stays_in_the_workers_namespace(pool):
    creator = DIG + f"""
def execute(input_json):
    shm = libc.shmget({SHM_KEY}, 32 << 20, 0o1666)
    msg = libc.msgget({MSG_KEY}, 0o1666)
    return json.dumps([shm, msg])
"""
    shm, msg = json.loads(run(pool, creator, allele="ipc-creator").output)
    assert shm >= 0 and msg >= 0  # the gene may have them, in its own namespace
    assert MSG_KEY not in _host_ipc_keys("msg") and SHM_KEY not in _host_ipc_keys("shm")
    finder = DIG + f"""
def execute(input_json):
    return json.dumps([libc.msgget({MSG_KEY}, 0), get_errno(), libc.shmget({SHM_KEY}, 0, 0), get_errno()])
"""
    assert json.loads(run(pool, finder, allele="ipc-finder").output) == [-1, 2, -1, 2]  # ENOENT


def test_host_metadata_is_not_there_to_look_at(pool):
    import os

    outcome = run(pool, DIG + """
def execute(input_json):
    results = {}
    for name, act in [("stat_shadow", lambda: os_.stat("/etc/shadow").st_size),
                      ("stat_work", lambda: os_.stat("/work").st_mode),
                      ("stat_host_pid", lambda: os_.stat("/proc/" + input_json).st_mode),
                      ("readlink", lambda: os_.readlink("/etc/localtime"))]:
        try:
            results[name] = act()
        except OSError as exc:
            results[name] = exc.errno
    watch = libc.inotify_init1(0)
    results["inotify_etc"] = [libc.inotify_add_watch(watch, b"/etc", 0xFFF), get_errno()]
    results["pid"] = os_.getpid()
    return json.dumps(results)
""", os.getpid())
    assert json.loads(outcome.output) == {"stat_shadow": 2, "stat_work": 2, "stat_host_pid": 2, "readlink": 2,
                                          "inotify_etc": [-1, 2], "pid": 1}


@pytest.mark.parametrize("body, kind, words", [
    ("def execute(input_json):\n    return '[' * 985 + ']' * 985", "bad_output", "nested deeper than 100 levels"),
    ("def execute(input_json):\n    return json.dumps({'score': float('nan')})", "bad_output", "NaN is not JSON"),
    ("def execute(input_json):\n    return json.dumps([float('-inf')])", "bad_output", "-Infinity is not JSON"),
    ("def execute(input_json):\n    return json.dumps('\\ud800')", "bad_output", "escapes a lone surrogate"),
    ("def execute(input_json):\n    return '\"\\ud800\"'", "bad_output", "lone surrogate at character 1"),
    ("def execute(input_json):\n    raise ValueError('bad \\ud800 text')", "exception", "bad \\ud800 text"),
    ("def f(n):\n    return f(n + 1)\ndef execute(input_json):\n    f(0)", "exception", "RecursionError"),
    ("def execute(input_json):\n    _os['sys'].setrecursionlimit(210000)\n    f = lambda n: f(n + 1)\n    f(0)",
     "exception", "RecursionError"),
    ("def execute(input_json):\n    os_.write(int(_os['sys'].argv[2]), _frame(json.loads('[' * 200000 + ']' * 200000)))",
     "exception", "RecursionError"),
    (("def execute(input_json):\n    body = b'D' + _stamp() + b'[' * 200000 + b']' * 200000\n"
      "    os_.write(int(_os['sys'].argv[2]), len(body).to_bytes(4, 'big') + body)\n    import time\n    time.sleep(5)"),
     "crash", "frame is not JSON"),
    (("import gene_sdk\ndef execute(input_json):\n    deep = []\n    for _ in range(200000):\n        deep = [deep]\n"
      "    gene_sdk.create_bridge(deep)"), "exception", "must be JSON values"),
])
def test_whatever_a_gene_returns_or_raises_is_its_scored_failure(pool, body, kind, words):
    outcome = run(pool, DIG + FRAME + STAMP + body)
    assert (outcome.ok, outcome.error) == (False, kind), outcome
    assert words in outcome.message
    outcome.message.encode("utf-8")  # any UTF-8 writer (journal, terminal) takes it
    assert_healthy(pool)


def test_hitting_a_cpu_limit_the_gene_lowered_is_its_own_exception(pool):
    outcome = run(pool, DIG + """
def execute(input_json):
    rlimit = _os["sys"].modules["resource"]
    used = rlimit.getrusage(rlimit.RUSAGE_SELF)
    rlimit.setrlimit(rlimit.RLIMIT_CPU, (int(used.ru_utime + used.ru_stime) + 1, rlimit.getrlimit(rlimit.RLIMIT_CPU)[1]))
    while True:
        pass
""", timeout=30)
    assert outcome.error == "exception"
    assert "the gene lowered its own CPU-time limit" in outcome.message
    assert_healthy(pool)


NAMES = gene("""
    import json, gene_sdk
    def execute(input_json):
        said = {}
        for name in json.loads(input_json)["names"]:
            try:
                gene_sdk.create_bridge(name)
                said[name] = "created"
            except gene_sdk.KernelError as exc:
                said[name] = str(exc)
        return json.dumps(said)
""")


@needs_root
def test_interface_names_linux_refuses_are_refused_to_a_gene_before_the_kernel_sees_them(pool):
    """A 15-character name of 30 bytes, `a:b` and `ev\\0il` (which netlink once cut to `ev`) never reach a kernel."""
    from sggit.kernel.dispatch import perform
    from sggit.kernel.mock import MockKernel, default_description

    kernel = MockKernel(default_description())
    before = sorted(link["name"] for link in kernel.list_links())
    bad = ["é" * 15, "a:b", "ev\0il", "a/b", "a b", "x" * 16]
    outcome = pool.run("names", NAMES, json.dumps({"names": [*bad, "br-ok"]}),
                       handler=lambda name, args, kwargs: perform(kernel, name, args, kwargs))
    said = json.loads(outcome.output or "{}")
    assert outcome.ok and said.pop("br-ok") == "created", outcome
    assert all("interface name" in text for text in said.values()) and sorted(said) == sorted(bad), said
    assert sorted(link["name"] for link in kernel.list_links()) == sorted([*before, "br-ok"])
