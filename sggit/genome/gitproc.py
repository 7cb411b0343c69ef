"""Running the git binary for what libgit2 does not do well (network transports, gc), tied to our life.

Every child gets PR_SET_PDEATHSIG(SIGKILL), so a SIGKILLed sggit never leaves
a `git fetch` or `git push` running on; git's own helpers (upload-pack,
index-pack) then end when their pipes close.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        prctl = ctypes.CDLL(name, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl  # type: ignore[no-any-return]


_PRCTL = _load_prctl()


def _die_with(parent: int) -> Callable[[], None] | None:
    """The pre-exec hook: SIGKILL when the parent dies, and exit if it already has."""
    prctl = _PRCTL
    if prctl is None:
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return hook


def run_git(git_dir: Path, args: Sequence[str], *, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """`git --git-dir GIT_DIR ARGS...`, output captured, killed with us; raises OSError if git is missing."""
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_die_with(os.getpid()),
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
