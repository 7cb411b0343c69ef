"""Escape attempts: each ends as a gene failure with a clear reason, and the pool keeps working.

Genes here reach `os` and `ctypes` through `().__class__.__base__.__subclasses__()`,
past the import allowlist, to show that the kernel mechanisms hold on their own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sggit.runtime.sandbox import SandboxConfig, WorkerPool

from .helpers import DIG, FAST, assert_healthy, needs_landlock, needs_root, reachable_tempdir, run


@pytest.fixture(scope="module")
def outside() -> Path:
    """A world-readable, world-writable directory outside scratch: only Landlock keeps a gene out."""
    path = reachable_tempdir("sggit-outside-")
    path.chmod(0o777)
    secret = path / "secret.txt"
    secret.write_text("host secret")
    secret.chmod(0o644)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def landlock_pool(pool):
    """The host's filesystem left in place (no private root): Landlock alone must refuse it."""
    with WorkerPool(FAST.model_copy(update={"disable": ("private_root",)}), size=1) as only_landlock:
        yield only_landlock


def escape(pool, body: str, payload: object = None):
    outcome = run(pool, DIG + body, payload)
    assert_healthy(pool)
    return outcome


@pytest.mark.parametrize("statement", [
    "import os", "import subprocess", "import ctypes", "import socket", "import sys",
    "import importlib", "from os import path", "__import__('os')", "import os.path",
])
def test_imports_outside_the_allowlist_are_forbidden(pool, statement):
    outcome = run(pool, f"def execute(input_json):\n    {statement}\n    return '1'")
    assert outcome.error == "forbidden"
    assert "not allowed in a gene" in outcome.message
    assert_healthy(pool)


@pytest.mark.parametrize("expression, module", [
    ('_os["__builtins__"]["__import__"]("_socket")', "_socket"),
    ('_os["sys"].modules["importlib"].import_module("subprocess")', "subprocess"),
    ('_os["__builtins__"]["__import__"]("ctypes")', "ctypes"),
])
def test_real_import_machinery_loads_nothing_new(pool, expression, module):
    outcome = escape(pool, f"""
def execute(input_json):
    return json.dumps({expression}.__name__)
""")
    assert outcome.error == "forbidden"
    assert f"{module!r} is not available in the sandbox" in outcome.message


@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/passwd", "/proc/1/environ"])
def test_host_files_cannot_be_read_through_dug_out_os(landlock_pool, path):
    outcome = escape(landlock_pool, f"""
def execute(input_json):
    with open({path!r}) as handle:
        return json.dumps(handle.read())
""")
    assert outcome.error == "forbidden"
    assert "Permission denied" in outcome.message


def test_world_readable_file_outside_scratch_cannot_be_read(landlock_pool, outside):
    outcome = escape(landlock_pool, """
def execute(input_json):
    fd = os_.open(json.loads(input_json), os_.O_RDONLY)
    return json.dumps(os_.read(fd, 100).decode())
""", str(outside / "secret.txt"))
    assert outcome.error == "forbidden"
    assert "Permission denied" in outcome.message


def test_nothing_outside_scratch_can_be_listed_or_written(landlock_pool, outside):
    outcome = escape(landlock_pool, """
def execute(input_json):
    results = {}
    for name, act in [("list_root", lambda: os_.listdir("/")),
                      ("write_outside", lambda: open(json.loads(input_json), "w").write("x")),
                      ("write_scratch", lambda: open("mine.txt", "w").write("x"))]:
        try:
            act()
            results[name] = "ok"
        except OSError as exc:
            results[name] = exc.errno
    return json.dumps(results)
""", str(outside / "planted.txt"))
    assert json.loads(outcome.output) == {"list_root": 13, "write_outside": 13, "write_scratch": "ok"}
    assert not (outside / "planted.txt").exists()


def test_sockets_are_refused_by_the_kernel(pool):
    outcome = escape(pool, """
def execute(input_json):
    # AF_INET/SOCK_STREAM, AF_UNIX/SOCK_STREAM, AF_NETLINK/SOCK_RAW
    results = []
    for family, kind in [(2, 1), (1, 1), (16, 3)]:
        fd = libc.socket(family, kind, 0)
        results.append([fd, get_errno()])
    return json.dumps(results)
""")
    assert json.loads(outcome.output) == [[-1, 1], [-1, 1], [-1, 1]]


@pytest.mark.parametrize("attempt", [
    "os_.fork()",
    "os_.posix_spawn('/bin/true', ['true'], {})",
    "os_.execv('/bin/sh', ['sh', '-c', 'true'])",
    "[os_.fork() for _ in range(10**6)]",
])
def test_processes_cannot_be_started(pool, attempt):
    outcome = escape(pool, f"def execute(input_json):\n    {attempt}\n    return '1'\n")
    assert outcome.error == "forbidden"
    assert "Operation not permitted" in outcome.message


def test_os_system_does_not_run_the_command(pool, outside):
    marker = outside / "spawned"
    outcome = escape(pool, f"""
def execute(input_json):
    return json.dumps([os_.system("touch {marker}"), libc.fork(), get_errno()])
""")
    status, fork_rc, errno = json.loads(outcome.output)
    assert status != 0 and (fork_rc, errno) == (-1, 1)
    assert not marker.exists()


def test_endless_loop_times_out_and_the_worker_is_replaced(pool):
    """The worker that ran it is discarded, not kept warm for the allele (whether it was a spare or one the call started)."""
    looping = "def execute(input_json):\n    while True:\n        pass\n"
    for _ in range(2):
        outcome = run(pool, looping, allele="looper", timeout=0.5)
        assert outcome.error == "timeout"
        assert "0.5 s" in outcome.message
        assert pool.warm_pids("looper") == []
    quick = run(pool, "def execute(input_json):\n    return '1'\n", allele="quick")
    assert quick.ok and len(pool.warm_pids("quick")) == 1  # a worker that answered is kept, so the check above could fail
    assert_healthy(pool)


@pytest.mark.parametrize("allocation", ["bytearray(40 * 2**30)", "[0] * (10 * 10**9)", "'x' * (20 * 2**30)"])
def test_huge_allocations_hit_the_address_space_limit(pool, allocation):
    outcome = run(pool, f"def execute(input_json):\n    data = {allocation}\n    return '1'\n")
    assert outcome.error == "limit"
    assert "address-space limit" in outcome.message
    assert_healthy(pool)


def test_huge_file_hits_the_file_size_limit(pool):
    outcome = run(pool, """
def execute(input_json):
    with open("big.bin", "wb") as handle:
        for _ in range(10 * 1024):
            handle.write(b"x" * 2**20)
    return '1'
""")
    assert outcome.error == "limit"
    assert "file-size limit" in outcome.message
    assert_healthy(pool)


def test_printing_gigabytes_hits_the_stdout_limit(pool):
    outcome = run(pool, """
def execute(input_json):
    for _ in range(1024):
        print("x" * 2**20)
    return '1'
""")
    assert outcome.error == "limit"
    assert "stdout limit" in outcome.message
    assert_healthy(pool)


def test_writing_gigabytes_to_raw_stderr_hits_the_file_size_limit(pool):
    outcome = escape(pool, """
def execute(input_json):
    for _ in range(1024):
        os_.write(2, b"x" * 2**20)
    return '1'
""")
    assert outcome.error == "limit"
    assert "file-size limit" in outcome.message


def test_segfault_is_a_crash_not_a_hang(pool):
    outcome = escape(pool, "def execute(input_json):\n    _ct['string_at'](0)\n")
    assert outcome.error == "crash"
    assert "SIGSEGV" in outcome.message


@needs_root
@needs_landlock
def test_cpu_time_limit_ends_a_busy_gene():
    config = FAST.model_copy(update={"cpu_seconds_per_call": 1, "timeout_seconds": 30})
    with WorkerPool(config, size=1) as single:
        outcome = single.run("spin", "def execute(input_json):\n    while True:\n        pass\n", "{}")
        assert outcome.error == "limit"
        assert "CPU-time limit of 1 s" in outcome.message
        assert_healthy(single)


@needs_root
@needs_landlock
def test_without_landlock_and_seccomp_the_same_genes_escape(outside):
    """Shows the tests above measure the kernel mechanisms, not an accident of permissions."""
    config = SandboxConfig(disable=("landlock", "seccomp", "private_root"), allow_degraded=True)
    with WorkerPool(config, size=1) as degraded:
        read = run(degraded, DIG + """
def execute(input_json):
    with open(json.loads(input_json)) as handle:
        return json.dumps(handle.read())
""", str(outside / "secret.txt"))
        sock = run(degraded, DIG + """
def execute(input_json):
    return json.dumps(libc.socket(2, 1, 0))
""")
    assert json.loads(read.output) == "host secret"
    assert json.loads(sock.output) >= 0
