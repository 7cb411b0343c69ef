"""Sandbox directories of runs that were killed: found and removed when the next pool starts.

Each pool holds an exclusive lock on a file in its directory for as long as it
lives; the kernel drops the lock when the process dies, however it dies. A
directory whose lock can be taken therefore belongs to no live pool.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import time
from pathlib import Path

PREFIX = "sggit-sandbox-"
LOCK = ".owner"
# A directory without a lock file may be one a pool is creating right now.
_UNCLAIMED_GRACE_SECONDS = 60


def claim_root(root: Path) -> int:
    """Lock `root` for this process; the returned descriptor must stay open while the pool lives."""
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _make_removable(function: object, path: str, exc_info: object) -> None:
    """rmtree's error hook: a gene may leave a mode-000 directory; its owner may always chmod it."""
    parent = os.path.dirname(path)
    for target in (parent, path):
        try:
            os.chmod(target, stat.S_IRWXU)
        except OSError:
            pass
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, onerror=_ignore)
        else:
            os.unlink(path)
    except OSError:
        pass


def _ignore(*_: object) -> None:
    return None


def remove_tree(path: Path) -> None:
    """Remove `path` whatever modes a gene left inside it."""
    shutil.rmtree(path, onerror=_make_removable)
    if path.exists():
        shutil.rmtree(path, onerror=_make_removable)


def _abandoned(directory: Path) -> bool:
    try:
        fd = os.open(directory / LOCK, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        try:
            return time.time() - directory.stat().st_mtime > _UNCLAIMED_GRACE_SECONDS
        except OSError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live pool holds it
    finally:
        os.close(fd)
    return True


def sweep_leftovers(parent: Path) -> list[Path]:
    """Remove the sandbox directories under `parent` that no live pool owns; returns them."""
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX) or entry.is_symlink() or not entry.is_dir():
            continue
        if entry.stat().st_uid == os.geteuid() and _abandoned(entry):
            remove_tree(entry)
            removed.append(entry)
    return removed
