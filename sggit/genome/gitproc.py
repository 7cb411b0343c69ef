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


def git_reason(stderr: str) -> str:
    """What git said went wrong: its first `fatal:` or `error:` line, without the prefix.

    git often ends a failure with generic advice ("Please make sure you have the
    correct access rights / and the repository exists.") or a usage line, so the
    last line rarely names the problem; the first fatal or error line does.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        head, _, rest = line.partition(":")
        if head.lower() in ("fatal", "error") and rest.strip():
            return rest.strip()
    said = [line for line in lines if not line.lower().startswith("hint:")]
    return said[0] if said else "git failed"


def remote_names(git_dir: Path) -> list[str] | None:
    """The remotes this repository configures, `origin` first; None when git cannot say (then git's own call reports why)."""
    try:
        done = run_git(git_dir, ["remote"])
    except OSError:
        return None
    if done.returncode != 0:
        return None
    names = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return sorted(names, key=lambda n: (n != "origin", n))


def _names_a_location(remote: str) -> bool:
    """A URL, scp-like `host:path` or filesystem path, which git reaches without a configured remote."""
    colon, slash = remote.find(":"), remote.find("/")
    if colon > 0 and (slash < 0 or colon < slash):
        return True
    return slash >= 0 or remote in (".", "..") or Path(remote).exists()


def require_remote(git_dir: Path, remote: str) -> None:
    """Refuse a bare name that is no configured remote, before git is asked to reach it.

    git takes such a name for a path and fails with advice about access rights;
    the user's mistake is a remote name, a usage error, not an unreachable remote.
    """
    from sggit.errors import UsageError

    names = remote_names(git_dir)
    if names is None or remote in names or _names_a_location(remote):
        return
    if names:
        hint = f"configured remotes: {', '.join(names)}; or give a URL or path, or add this one with `git remote add {remote} URL`"
    else:
        hint = f"this repository has no remote; add one with `git remote add {remote} URL`, or give a URL or path"
    raise UsageError(f"no remote named {remote}", hint=hint)
