"""What one gene invocation came to, and what confinement a worker achieved."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ErrorKind = Literal["timeout", "crash", "limit", "exception", "forbidden", "bad_output", "cancelled"]


class GeneOutcome(BaseModel):
    """A gene's result as the arena scores it: never an exception in the orchestrator."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    output: str | None = None
    error: ErrorKind | None = None
    message: str = ""
    duration: float = 0.0


class Mechanism(BaseModel):
    """One confinement mechanism as the worker reported it."""

    model_config = ConfigDict(frozen=True)

    name: str
    applied: bool
    detail: str


class Confinement(BaseModel):
    """Everything a worker reported at startup."""

    model_config = ConfigDict(frozen=True)

    mechanisms: tuple[Mechanism, ...]
    missing_modules: tuple[str, ...] = ()

    def missing(self, required: tuple[str, ...]) -> list[Mechanism]:
        """The required mechanisms that did not take hold (unreported ones count as missing)."""
        have = {m.name: m for m in self.mechanisms}
        return [have.get(name) or Mechanism(name=name, applied=False, detail="not reported")
                for name in required if not (name in have and have[name].applied)]
