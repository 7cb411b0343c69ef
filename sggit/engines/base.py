"""The one interface every mutation engine fills: a failure in, candidate sources out.

The context carries everything the paradigm says a mutation needs (the contract's
prose, types, invariants and failure modes, the failing allele's source, the
failing input, the error, diagnostics and environment), so an engine never has
to reach back into the genome.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from sggit.errors import UsageError


class ContractBrief(BaseModel):
    """The parts of a gene contract an engine reasons with."""

    locus: str
    family: str | None = None
    risk: str | None = None
    does: str = ""
    takes: list[str] = Field(default_factory=list)
    gives: list[str] = Field(default_factory=list)
    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)
    fails_when: list[str] = Field(default_factory=list)
    unhealthy_when: list[str] = Field(default_factory=list)
    examples: list[dict[str, Any]] = Field(default_factory=list)
    text: str = ""


class MutationContext(BaseModel):
    contract: ContractBrief
    parent: str | None = None
    parent_source: str | None = None
    failing_input: Any = None
    error: str | None = None
    diagnostics: list[Any] = Field(default_factory=list)
    environment: dict[str, Any] = Field(default_factory=dict)
    accepted: list[dict[str, Any]] = Field(default_factory=list)
    siblings: dict[str, str] = Field(default_factory=dict)

    def signature(self) -> str:
        """Same parent, same failure: the same question, so the same answer may be reused."""
        import hashlib
        import json

        blob = json.dumps([self.parent, self.failing_input, self.error], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


class Proposal(BaseModel):
    source: str
    engine: str
    model: str | None = None
    prompt_hash: str | None = None
    note: str | None = None


class Engine(ABC):
    name: str = "engine"

    @abstractmethod
    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        """Up to `count` candidate sources; an empty list means this engine has no idea."""


class NoEngine(Engine):
    """Never mutates: for runs that must only use what is already in the genome."""

    name = "none"

    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        return []


class Case(BaseModel):
    """One input a candidate is judged on; `expected` fields must match, others are free."""

    input: dict[str, Any]
    expected: dict[str, Any] | None = None
    kind: str = "example"


class Evaluation(BaseModel):
    """How one candidate did on a list of cases (in order)."""

    passed: int
    total: int
    results: list[bool] = Field(default_factory=list)
    errors: list[str | None] = Field(default_factory=list)
    judged: bool = True

    @property
    def score(self) -> float:
        return self.passed / self.total if self.total else 0.0


class Evaluator(ABC):
    """Runs candidate sources on cases; the runtime's implementation uses sandbox workers."""

    @abstractmethod
    def evaluate(
        self, sources: list[str], cases: list[Case], *, stop_early: bool = False,
        expired: Callable[[], bool] | None = None,
    ) -> list[Evaluation]:
        """One Evaluation per source, in order.

        With `stop_early`, a candidate's cases after its first failed (or timed-out)
        one are not run and count as failed: a search only needs to know that a
        candidate lost. A candidate not yet started when `expired()` is true comes
        back with `judged=False`, so a caller's time budget holds per candidate.
        """

    def steps(self, source: str, cases: list[Case]) -> list[int | None] | None:
        """Interpreter steps `source` takes on each case (None for a case it did not finish).

        Lets a search tell a repair that is asymptotically slower than its parent
        from one that is not; None when this evaluator cannot count.
        """
        return None


def not_judged(total: int) -> Evaluation:
    """The answer for a candidate the caller ran out of time for."""
    return Evaluation(passed=0, total=total, results=[False] * total, errors=["not judged: out of time"] * total, judged=False)


def missing_api_key() -> UsageError:
    """The anthropic engine asked for without a key. The hint is right for every command:
    gp only repairs, so `generate` must be pointed elsewhere."""
    return UsageError("the anthropic engine needs an API key",
                      hint="set ANTHROPIC_API_KEY, or work offline: --engine gp repairs a failing allele, "
                           "--engine fixture offers prepared ones (--fixture-dir DIR)")
