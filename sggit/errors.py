"""Errors that reach the user as a message and an exit code, never a traceback."""

from __future__ import annotations


class SggitError(Exception):
    """A failure the user can act on. `exit_code` 1 means "the thing checked is bad"."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class UsageError(SggitError):
    """Bad arguments or bad input data: the caller's mistake, exit 2."""

    exit_code = 2


def first_problem(exc: Exception) -> str:
    """The first thing a data model refused, at its JSON path (`links.eth0.mtu`, `stack[2]`): what a user can find and fix.

    Duck-typed on pydantic's `errors()`, so this module imports nothing.
    """
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc) or type(exc).__name__
    first = errors()[0]
    where = ""
    for part in first.get("loc", ()):
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    message = str(first.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
