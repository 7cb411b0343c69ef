"""One transaction per gene call: the undo log, the kernel lock, and rollback written once.

Every caller that lets a gene act on a kernel (the organism, fusion, the lifecycle's
canary, the candidate evaluator, conformance) opens one of these and passes its
`handler` to the worker pool. A rollback takes the kernel lock, undoes newest
first, and returns what could not be undone; the transaction also keeps every such
failure, so nothing is lost when a caller only wants the summary.

A read-only transaction is what a diagnostic or transform gene gets: such a gene
observes, so a mutating call is refused before it reaches the kernel, and the
refusal is remembered so that the attempt fails even if the gene catches it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from sggit.kernel.api import Kernel, KernelError
from sggit.kernel.dispatch import Handler, kernel_lock, perform, surface_of
from sggit.kernel.undo import UndoFailure, UndoLog


class Transaction:
    """The undo log of one gene call on one kernel; `with` rolls back when the block raises."""

    def __init__(self, kernel: Kernel, *, read_only: bool = False, actor: str = "") -> None:
        self.kernel = kernel
        self.read_only = read_only
        self.actor = actor
        self._log: UndoLog | None = None
        self.failures: list[UndoFailure] = []
        self.violations: list[str] = []
        self.handler: Handler = self._observe if read_only else self._perform

    @property
    def log(self) -> UndoLog:
        """Made on the first mutating call: most calls change nothing, and every call opens a transaction."""
        if self._log is None:
            self._log = UndoLog()
        return self._log

    def _perform(self, name: str, args: Any = (), kwargs: Any = None) -> Any:
        return perform(self.kernel, name, args, kwargs, self.log if isinstance(name, str) and name in self._mutating else None)

    def _observe(self, name: str, args: Any = (), kwargs: Any = None) -> Any:
        if isinstance(name, str) and name in self._mutating:
            message = f"{self.actor or 'read-only'} gene called {name}"
            self.violations.append(message)
            raise KernelError(message)
        return perform(self.kernel, name, args, kwargs)

    @property
    def _mutating(self) -> frozenset[str]:
        """The mutating operations of this kernel's gene_sdk surface (its domain's, not always the network's)."""
        return surface_of(self.kernel).mutating

    def __len__(self) -> int:
        return 0 if self._log is None else len(self._log)

    @property
    def ops(self) -> list[str]:
        """The mutating operations recorded so far, oldest first."""
        return [] if self._log is None else [e.op for e in self._log.entries]

    def mark(self) -> int:
        """A savepoint: `rollback(to=mark)` undoes only what came after it."""
        return len(self)

    def rollback(self, to: int = 0) -> list[UndoFailure]:
        """Undo what came after `to`, newest first, under the kernel lock; failed steps are returned."""
        if len(self) <= to:
            return []
        with kernel_lock(self.kernel):
            failures = self.log.rollback(self.kernel, to)
        self.failures.extend(failures)
        return failures

    def undo(self) -> list[str]:
        """The runtime's `Rollback` form: undo everything, and say what could not be undone."""
        return [str(f) for f in self.rollback()]

    def rollback_action(self) -> Callable[[], list[str]] | None:
        """`undo` when there is something to undo, else None (nothing for a pathway to call back)."""
        return self.undo if len(self) else None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is not None:
            self.rollback()
