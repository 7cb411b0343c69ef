"""A per-day ceiling on paid model calls and tokens, kept on disk so every run shares it.

The counters reset when the UTC date changes. A call is reserved before it is
made (so concurrent runs cannot both slip under the limit) and handed back if
it never produced an answer; tokens are added once the answer says how many
were used.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from sggit.engines.llm.state import load, locked, save
from sggit.errors import SggitError


class BudgetExhausted(SggitError):
    """Today's calls or tokens are spent; mutation by this engine stops until tomorrow (UTC)."""


class DayUsage(BaseModel):
    day: str = ""
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def utc_today() -> str:
    return datetime.now(UTC).date().isoformat()


class DailyBudget:
    def __init__(
        self,
        path: str | Path,
        *,
        max_calls: int,
        max_tokens: int,
        today: Callable[[], str] = utc_today,
    ) -> None:
        self.path = Path(path)
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self.today = today

    def usage(self) -> DayUsage:
        state = load(self.path, DayUsage)
        day = self.today()
        return state if state.day == day else DayUsage(day=day)

    def reserve_call(self) -> None:
        """Claim one call of today's allowance, or stop with the reason."""
        with locked(self.path):
            state = self.usage()
            if state.calls >= self.max_calls:
                raise BudgetExhausted(
                    f"daily anthropic budget spent: {state.calls} of {self.max_calls} calls used on {state.day} (UTC)",
                    hint="it resets at 00:00 UTC; raise SGGIT_ANTHROPIC_CALLS_PER_DAY or use --engine gp",
                )
            if state.tokens >= self.max_tokens:
                raise BudgetExhausted(
                    f"daily anthropic budget spent: {state.tokens} of {self.max_tokens} tokens used on {state.day} (UTC)",
                    hint="it resets at 00:00 UTC; raise SGGIT_ANTHROPIC_TOKENS_PER_DAY or use --engine gp",
                )
            state.calls += 1
            save(self.path, state)

    def release_call(self) -> None:
        """Give back a reserved call that produced no answer (and so cost nothing)."""
        with locked(self.path):
            state = self.usage()
            if state.calls > 0:
                state.calls -= 1
                save(self.path, state)

    def add_tokens(self, input_tokens: int, output_tokens: int) -> None:
        with locked(self.path):
            state = self.usage()
            state.input_tokens += input_tokens
            state.output_tokens += output_tokens
            save(self.path, state)
