"""Small JSON state files shared by processes: read-modify-write under a lock, written atomically.

Engines keep their memory (budget counters, what was already proposed) in a
state directory. Two runs on one machine may touch the same file at once; the
lock serialises them and the atomic write means a crash leaves the old file or
the new one, never half of either.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from sggit.errors import SggitError
from sggit.fsutil import atomic_write_text

M = TypeVar("M", bound=BaseModel)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive lock on a sidecar `.lock` file (the data file itself is replaced on write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def load(path: Path, model: type[M]) -> M:
    """The stored state, or a fresh one when there is none yet."""
    if not path.exists():
        return model()
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError) as exc:
        raise SggitError(
            f"state file {path} is damaged: {exc.__class__.__name__}",
            hint="move it aside; it will be recreated empty",
        ) from exc


def save(path: Path, state: BaseModel) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, state.model_dump_json(indent=2) + "\n")
