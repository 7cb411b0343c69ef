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
