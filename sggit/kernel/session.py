"""Choosing a kernel for a run, and keeping a mock kernel's state between runs.

A mock state file is read and written under an exclusive lock and replaced
atomically, so two CLI invocations on one file never lose each other's changes
and a crash leaves the previous state intact.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sggit.errors import UsageError, first_problem
from sggit.fsutil import atomic_write_text
from sggit.kernel.api import Kernel, KernelError
from sggit.kernel.mock import MockDescription, MockKernel, default_description


def create_mock_state(path: str | Path, description: MockDescription | dict | None = None, *, force: bool = False) -> MockKernel:
    """Write a new mock machine to `path`; refuse to replace one unless `force`."""
    target = Path(path)
    kernel = MockKernel(description if description is not None else default_description())
    with _locked(target):
        if target.exists() and not force:
            raise UsageError(f"{target} already exists", hint="pass --force to start over")
        atomic_write_text(target, kernel.to_json())
    return kernel


def ensure_mock_state(path: str | Path, description: MockDescription | dict) -> bool:
    """Create the state file unless it exists; True if this call made it.

    The check and the write happen under the file's lock, so the first concurrent
    runs on a new phenotype agree on one machine instead of racing to create it.
    """
    target = Path(path)
    with _locked(target):
        if target.exists():
            return False
        atomic_write_text(target, MockKernel(description).to_json())
        return True


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(f".{path.name}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"cannot write mock kernel state {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def mock_session(path: str | Path) -> Iterator[MockKernel]:
    """The mock kernel stored at `path`; whatever happens to it is saved on the way out."""
    target = Path(path)
    with _locked(target):
        try:
            text = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"no mock kernel state at {target}", hint="create one with `sggit kernel mock-init`") from None
        try:
            kernel = MockKernel.from_json(text)
        except ValueError as exc:
            phenotype = target.stem.removeprefix("mock-") if target.parent.name == "sggit" and target.stem.startswith("mock-") else None
            hint = (f"`sggit kernel mock-reset --phenotype {phenotype}` puts the phenotype's mock host back as it boots" if phenotype
                    else f"`sggit kernel mock-init` makes a new one (move {target.name} aside first)")
            raise UsageError(f"{target} is not a mock kernel state file: {first_problem(exc)}", hint=hint) from None
        try:
            yield kernel
        finally:
            atomic_write_text(target, kernel.to_json())


@contextmanager
def open_kernel(*, netns: str | None = None, mock_state: str | Path | None = None) -> Iterator[Kernel]:
    """The kernel a command acts on: a mock state file, a named namespace, or the host."""
    if netns is not None and mock_state is not None:
        raise UsageError("choose either a network namespace or a mock kernel state, not both")
    if mock_state is not None:
        with mock_session(mock_state) as mock:
            yield mock
        return
    from sggit.kernel.netlink import NetlinkKernel

    try:
        kernel = NetlinkKernel(netns)
    except KernelError as exc:
        raise UsageError(str(exc)) from None
    try:
        yield kernel
    finally:
        kernel.close()
