"""A worker started by an unprivileged user confines itself through a user namespace.

The pool normally runs as root on this machine, so this drives the worker directly
(it needs only the standard library) as uid 65534.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sggit.runtime.sandbox import protocol

from .helpers import reachable_tempdir

NOBODY = 65534
ROOT = str(Path(__file__).resolve().parents[2])


def _python_for_nobody() -> str | None:
    """An interpreter and checkout that uid 65534 can run; None when the host has neither."""
    candidates = [sys.executable, getattr(sys, "_base_executable", None), shutil.which("python3"), "/usr/bin/python3"]
    for python in dict.fromkeys(c for c in candidates if c):
        try:
            probe = subprocess.run(
                [python, "-S", "-c", "import sys, sggit.runtime.sandbox.worker; assert sys.version_info >= (3, 11)"],
                user=NOBODY, group=NOBODY, extra_groups=[], env={"PYTHONPATH": ROOT}, cwd="/",
                capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return python
    return None


@pytest.fixture(scope="module")
def nobody_worker():
    if os.geteuid() != 0:
        pytest.skip("switching to uid 65534 for the test needs root")
    python = _python_for_nobody()
    if python is None:
        pytest.skip("no Python 3.11+ interpreter and checkout readable by uid 65534")
    scratch = str(reachable_tempdir("sggit-nobody-"))
    os.chown(scratch, NOBODY, NOBODY)
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    proc = subprocess.Popen([python, "-S", "-B", "-m", "sggit.runtime.sandbox.worker", str(req_r), str(resp_w)],
                            pass_fds=(req_r, resp_w), user=NOBODY, group=NOBODY, extra_groups=[],
                            env={"PYTHONPATH": ROOT}, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(req_r)
    os.close(resp_w)
    init = {"scratch": scratch, "uid": NOBODY, "gid": NOBODY, "scratch_bytes": 1 << 20, "max_frame": 1 << 20,
            "rlimits": {"RLIMIT_CPU": 30, "RLIMIT_AS": 1 << 30, "RLIMIT_NOFILE": 64, "RLIMIT_FSIZE": 1 << 20,
                        "RLIMIT_NPROC": 256, "RLIMIT_CORE": 0},
            "allowlist": ["json", "gene_sdk"], "cpu_seconds_per_call": 5, "max_output_bytes": 1 << 20,
            "max_stdout_bytes": 1 << 20}
    protocol.write_all(req_w, protocol.frame(protocol.INIT, protocol.body(init)))
    reader = protocol.FrameReader(resp_r, 2 << 20)
    key = reader.read(time.monotonic() + 20)
    assert key[:1] == protocol.KEY and len(key) == 1 + protocol.KEY_SIZE  # the relay's first frame
    unseal = protocol.unsealer(key[1:])
    stamp = protocol.NO_STAMP

    def ask(message=None):
        nonlocal stamp
        if message is not None:
            stamp = secrets.token_bytes(protocol.STAMP_SIZE)
            protocol.write_all(req_w, protocol.stamped(protocol.RUN, stamp, message))
        tag, answered, text = unseal(reader.read(time.monotonic() + 20))
        assert (tag, answered) == (protocol.DONE if message is not None else protocol.READY, stamp)
        return protocol.decode(text)

    yield ask
    os.close(req_w)
    proc.wait(timeout=10)
    os.close(resp_r)
    shutil.rmtree(scratch, ignore_errors=True)


def test_unprivileged_worker_gets_every_mechanism(nobody_worker):
    ready = nobody_worker()
    report = {name: ok for name, (ok, _detail) in ready["report"].items()}
    assert report == {name: True for name in ("no_new_privs", "netns", "mountns", "pidns", "ipcns", "scratch_tmpfs", "private_root",
                                              "rlimits", "landlock", "uid", "seccomp", "relay")}
    assert "user namespace" in ready["report"]["netns"][1]
    assert "capabilities dropped" in ready["report"]["uid"][1]


def test_unprivileged_worker_refuses_host_files_and_sockets(nobody_worker):
    source = (
        "import json\n"
        "def execute(input_json):\n"
        "    for cls in ().__class__.__base__.__subclasses__():\n"
        "        if cls.__name__ == 'CDLL':\n"
        "            ct = cls.__init__.__globals__\n"
        "    libc = ct['CDLL'](None, use_errno=True)\n"
        "    fd = libc.socket(2, 1, 0)\n"
        "    errno = ct['get_errno']()\n"
        "    try:\n"
        "        open('/etc/passwd').read()\n"
        "        read = 'read'\n"
        "    except OSError as exc:\n"
        "        read = exc.errno\n"
        "    return json.dumps([fd, errno, read])\n")
    done = nobody_worker({"allele": "probe", "source": source, "input": "{}"})
    assert done["ok"], done
    assert done["output"] == "[-1, 1, 2]"  # /etc is not even there: the private root detached it
