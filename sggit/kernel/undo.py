"""The log a transaction rolls back from: each mutating call that succeeded and its inverse.

Inverses are planned by `sggit.kernel.inverses`, named beside each operation in
api.py; `PLANNERS` is read from those declarations.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sggit.kernel.api import Kernel
from sggit.kernel.inverses import Planner, UndoStep

__all__ = ["PLANNERS", "UndoEntry", "UndoFailure", "UndoLog", "UndoStep"]


class UndoEntry(BaseModel):
    """One mutating call that succeeded, and the steps that take it back."""

    op: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    steps: list[UndoStep] = Field(default_factory=list)


class UndoFailure(BaseModel):
    """An undo step that failed; rollback reports these rather than hiding them."""

    entry: str
    step: str
    error: str

    def __str__(self) -> str:
        return f"undo of {self.entry}: {self.step} failed: {self.error}"


class UndoLog(BaseModel):
    entries: list[UndoEntry] = Field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries)

    def record(self, op: str, args: list[Any], kwargs: dict[str, Any], steps: list[UndoStep]) -> None:
        self.entries.append(UndoEntry(op=op, args=list(args), kwargs=dict(kwargs), steps=steps))

    def mark(self) -> int:
        """A savepoint: pass it to rollback() to undo only what came after."""
        return len(self.entries)

    def rollback(self, kernel: Kernel, to: int = 0) -> list[UndoFailure]:
        """Undo entries after `to`, newest first; every failed step is returned.

        A failed step does not stop the rollback: the remaining entries still get
        their chance, because leaving more state behind is never better.
        """
        failures: list[UndoFailure] = []
        while len(self.entries) > to:
            entry = self.entries.pop()
            label = UndoStep(op=entry.op, args=entry.args, kwargs=entry.kwargs).describe()
            for step in entry.steps:
                try:
                    getattr(kernel, step.op)(*step.args, **step.kwargs)
                except Exception as exc:  # noqa: BLE001 - reported, never swallowed
                    failures.append(UndoFailure(entry=label, step=step.describe(), error=str(exc) or type(exc).__name__))
        return failures

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> UndoLog:
        return cls.model_validate_json(text)


def _planners() -> dict[str, Planner]:
    from sggit.kernel.api import Kernel, mutating_operations

    return {name: getattr(Kernel, name).__sggit_inverse__ for name in mutating_operations()}


PLANNERS: dict[str, Planner] = _planners()
"""Operation name -> inverse planner, read from the `@mutating` declarations in api.py."""
