"""What this host gives the sandbox, as checks for `sggit doctor`.

The truthful way to know whether a mechanism works is to start a worker and read
its report, so that is what the checks do, in degraded mode so that one missing
mechanism does not hide the others.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from sggit.errors import SggitError
from sggit.runtime.sandbox import _syscalls
from sggit.runtime.sandbox.config import SandboxConfig

# What a missing mechanism means for a gene, said next to the kernel's reason.
_CONSEQUENCE = {
    "no_new_privs": "seccomp and Landlock need it",
    "netns": "genes share the host's network namespace; seccomp still refuses sockets if present",
    "mountns": "no private tmpfs scratch; scratch lives on the host filesystem",
    "pidns": "genes see host process ids",
    "ipcns": "SysV shared memory and message queues a gene creates stay on the host after the run",
    "private_root": "genes can stat, readlink and watch (inotify) host files they cannot open",
    "scratch_tmpfs": "scratch size bounded only by RLIMIT_FSIZE per file",
    "rlimits": "no CPU, memory, file-size or process limits inside the worker",
    "landlock": "genes can read any file their uid can read",
    "uid": "genes run as root: file permissions and RLIMIT_NPROC do not bind them",
    "seccomp": "genes can open sockets and start processes if they reach os or ctypes",
    "relay": "a gene could read the key that seals its worker's frames",
}

_LABEL = {
    "netns": "namespace.network", "mountns": "namespace.mount", "pidns": "namespace.pid", "ipcns": "namespace.ipc",
    "private_root": "sandbox.private_root",
    "no_new_privs": "sandbox.no_new_privs", "scratch_tmpfs": "sandbox.scratch_tmpfs",
    "rlimits": "sandbox.rlimits", "landlock": "sandbox.landlock", "uid": "sandbox.unprivileged_uid",
    "seccomp": "sandbox.seccomp", "relay": "sandbox.relay",
}


@dataclass(frozen=True)
class Check:
    """One line of `sggit doctor`: any object with these three attributes will do."""

    name: str
    ok: bool
    detail: str


def architecture() -> list[Check]:
    machine = _syscalls.machine()
    known = _syscalls.table() is not None
    return [Check("sandbox.architecture", known,
                  f"{machine}: syscall numbers known" if known
                  else f"{machine}: no syscall table, so no Landlock or seccomp")]


def worker_confinement() -> list[Check]:
    from sggit.runtime.sandbox.pool import WorkerPool

    try:
        with WorkerPool(SandboxConfig(allow_degraded=True), size=1) as pool:
            confinement = pool.confinement
    except SggitError as exc:
        return [Check("sandbox.worker", False, f"a worker could not start: {exc}")]
    assert confinement is not None
    checks = [Check("sandbox.worker", True, "a confined worker started and reported")]
    for mechanism in confinement.mechanisms:
        detail = mechanism.detail if mechanism.applied else (
            f"{mechanism.detail}; consequence: {_CONSEQUENCE.get(mechanism.name, 'weaker confinement')}")
        checks.append(Check(_LABEL.get(mechanism.name, f"sandbox.{mechanism.name}"), mechanism.applied, detail))
    if confinement.missing_modules:
        checks.append(Check("sandbox.allowlist", False,
                            "allowlisted modules that do not import: " + ", ".join(confinement.missing_modules)))
    return checks


_PROBE_USERNS = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) != 0:
    sys.exit(os.strerror(ctypes.get_errno()))
"""


def user_namespaces() -> list[Check]:
    """Whether a process may make a user namespace: how non-root workers get the others."""
    try:
        probe = subprocess.run([sys.executable, "-S", "-c", _PROBE_USERNS], capture_output=True,
                               text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return [Check("namespace.user", False, f"probe failed: {exc}")]
    if probe.returncode == 0:
        return [Check("namespace.user", True, "available: workers started without root can still confine themselves")]
    reason = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else f"status {probe.returncode}"
    return [Check("namespace.user", False, f"unshare(CLONE_NEWUSER): {reason}; "
                                           "consequence: workers need root to get namespaces")]


CHECKS = [architecture, user_namespaces, worker_confinement]
