"""Genes as text, and the check that a pool still works after an escape attempt."""

from __future__ import annotations

import json
import os
import stat
import tempfile
import textwrap
from pathlib import Path

import pytest

from sggit.runtime.sandbox import GeneOutcome, SandboxConfig, WorkerPool, confine

HEALTHY = """
import json
def execute(input_json):
    return json.dumps({"doubled": json.loads(input_json)["n"] * 2})
"""

# Prepended to genes: `os_` and `libc` obtained without importing anything.
DIG = """
import json
def _dig(name):
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == name:
            return cls.__init__.__globals__
_os = _dig("_wrap_close")
os_ = _os["sys"].modules["os"]
_ct = _dig("CDLL")
libc = _ct["CDLL"](None, use_errno=True)
get_errno = _ct["get_errno"]
"""


def reachable_tempdir(prefix: str) -> Path:
    """A fresh temp dir that uid 65534 can reach: TMPDIR, or /var/tmp or /dev/shm when TMPDIR is 0700."""
    for base in (tempfile.gettempdir(), "/var/tmp", "/dev/shm"):
        chain = [Path(base).resolve(), *Path(base).resolve().parents]
        if all(p.is_dir() and p.stat().st_mode & stat.S_IXOTH for p in chain):
            return Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    pytest.skip("no temp dir on this host is traversable by uid 65534 (TMPDIR, /var/tmp, /dev/shm)")


def gene(body: str) -> str:
    return textwrap.dedent(body).strip() + "\n"


def landlock_available() -> bool:
    return confine.landlock_abi() > 0


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="full confinement needs root (namespaces, uid switch)")
needs_landlock = pytest.mark.skipif(not landlock_available(), reason="kernel has no Landlock")

FAST = SandboxConfig(timeout_seconds=2.0, memory_bytes=512 << 20, max_file_bytes=4 << 20,
                     scratch_bytes=32 << 20, max_stdout_bytes=64 << 10)


def run(pool: WorkerPool, body: str, payload: object = None, allele: str | None = None, **kw) -> GeneOutcome:
    source = gene(body)
    return pool.run(allele or f"t{abs(hash(source))}", source, json.dumps(payload), **kw)


def assert_healthy(pool: WorkerPool) -> None:
    outcome = pool.run("healthy", HEALTHY, json.dumps({"n": 21}))
    assert outcome.ok, outcome
    assert json.loads(outcome.output) == {"doubled": 42}
