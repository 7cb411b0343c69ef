"""The anthropic mutation engine: the contract and the failure in, candidate alleles out.

It speaks the Messages API through the official SDK, pays for each distinct
question once (answers are cached by parent allele and failure signature), stops
at a per-day budget, and retries rate limits and server errors itself so that a
server asking for an unreasonable wait ends in a clear message rather than a
silent hour-long sleep.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import anthropic
from pydantic import BaseModel, Field, ValidationError

from sggit.engines.base import Engine, MutationContext, Proposal, missing_api_key
from sggit.engines.candidates import RejectionLog, rejection, screen
from sggit.engines.llm.budget import DailyBudget
from sggit.engines.llm.cache import AnswerCache, CachedAnswer, cache_key
from sggit.engines.llm.extract import has_unclosed_block, python_blocks
from sggit.engines.llm.prompts import Prompt, render
from sggit.errors import SggitError, UsageError
from sggit.genes import DEFAULT_ALLOWLIST

DEFAULT_MODEL = "claude-sonnet-4-5"


class EngineUnavailable(SggitError):
    """The service could not answer now (rate limits, outages); a later run may succeed."""


class AnthropicSettings(BaseModel):
    """Everything a run may tune; each field can also come from an SGGIT_ANTHROPIC_* variable."""

    model: str = Field(DEFAULT_MODEL, min_length=1)
    max_tokens: int = Field(4096, ge=1)
    calls_per_day: int = Field(200, ge=0)
    tokens_per_day: int = Field(2_000_000, ge=0)
    max_retries: int = Field(4, ge=0)
    retry_base_delay: float = Field(1.0, ge=0)
    retry_max_delay: float = Field(60.0, ge=0)
    timeout: float = Field(120.0, gt=0)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> AnthropicSettings:
        """Settings from SGGIT_ANTHROPIC_<FIELD> variables; explicit overrides win, None means unset."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for field in cls.model_fields:
            raw = env.get(f"SGGIT_ANTHROPIC_{field.upper()}")
            if raw is not None and raw != "":
                values[field] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            bad = ", ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise UsageError(f"bad anthropic engine setting ({bad})", hint="check the SGGIT_ANTHROPIC_* variables") from exc


class Answer(BaseModel):
    text: str
    model: str
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except ValueError:
            continue
    return None


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, anthropic.APIConnectionError):
        return True
    if isinstance(exc, anthropic.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def _describe(exc: Exception) -> str:
    """The server's own words when it sent an error object, not the SDK's dump of the body."""
    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error")
        detail: dict[Any, Any] = error if isinstance(error, dict) else {}
        if detail.get("message"):
            kind = f" {detail['type']}" if detail.get("type") else ""
            return f"HTTP {exc.status_code}{kind}: {detail['message']}"
        return f"HTTP {exc.status_code}: {exc.message}"
    return f"{exc.__class__.__name__}: {exc}"


class AnthropicEngine(Engine):
    name = "anthropic"

    def __init__(
        self,
        *,
        state_dir: str | Path,
        settings: AnthropicSettings | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        allowlist: tuple[str, ...] | frozenset[str] = DEFAULT_ALLOWLIST,
    ) -> None:
        self.settings = settings or AnthropicSettings()
        self.state_dir = Path(state_dir)
        self.allowlist = allowlist
        self.budget = DailyBudget(
            self.state_dir / "anthropic" / "budget.json",
            max_calls=self.settings.calls_per_day,
            max_tokens=self.settings.tokens_per_day,
        )
        self.cache = AnswerCache(self.state_dir / "anthropic" / "cache")
        self.rejections = RejectionLog(self.state_dir)
        self._api_key = api_key
        self._base_url = base_url
        self._client: anthropic.Anthropic | None = None

    @property
    def client(self) -> anthropic.Anthropic:
        """Built on first use, so a run that never mutates never needs a key."""
        if self._client is None:
            key = self._api_key or os.environ.get("ANTHROPIC_API_KEY")
            if not key:
                raise missing_api_key()
            self._client = anthropic.Anthropic(
                api_key=key,
                base_url=self._base_url,
                max_retries=0,
                timeout=self.settings.timeout,
            )
        return self._client

    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        count = max(1, count)
        prompt = render(context, count, allowlist=self.allowlist)
        key = cache_key(prompt.mode, context, self.settings.model)
        cached = self.cache.get(key)
        if cached is not None:
            again = [self._proposal(src, cached.model, cached.prompt_hash, prompt.mode, cached=True) for src in cached.candidates]
            return screen(again, context, allowlist=self.allowlist)[:count]

        answer = self._ask(prompt)
        candidates = [self._proposal(src, answer.model, prompt.digest, prompt.mode) for src in python_blocks(answer.text)]
        if not candidates:
            reason = "answer holds no ```python block"
            if answer.stop_reason == "max_tokens" or has_unclosed_block(answer.text):
                reason = f"answer was cut off (stop_reason {answer.stop_reason}) before a ```python block closed"
            self.rejections.record(
                rejection(None, context, [reason], engine=self.name, model=answer.model,
                          prompt_hash=prompt.digest, note=answer.text[:4000])
            )
        accepted = screen(candidates, context, log=self.rejections, allowlist=self.allowlist)
        self.cache.put(
            CachedAnswer(
                key=key,
                model=answer.model,
                prompt_hash=prompt.digest,
                text=answer.text,
                candidates=[p.source for p in accepted],
                input_tokens=answer.input_tokens,
                output_tokens=answer.output_tokens,
            )
        )
        return accepted[:count]

    def _proposal(self, source: str, model: str, prompt_hash: str, mode: str, *, cached: bool = False) -> Proposal:
        note = f"{mode} (cached answer)" if cached else mode
        return Proposal(source=source, engine=self.name, model=model, prompt_hash=prompt_hash, note=note)

    def _ask(self, prompt: Prompt) -> Answer:
        """One paid answer: reserve budget, call with retries, record the tokens it cost."""
        client = self.client
        self.budget.reserve_call()
        try:
            message = self._create_with_retries(client, prompt)
        except BaseException:
            self.budget.release_call()
            raise
        usage = message.usage
        answer = Answer(
            text="".join(
                getattr(block, "text", "") for block in message.content or [] if getattr(block, "type", None) == "text"
            ),
            model=message.model or self.settings.model,
            stop_reason=message.stop_reason,
            input_tokens=(usage.input_tokens or 0) if usage else 0,
            output_tokens=(usage.output_tokens or 0) if usage else 0,
        )
        self.budget.add_tokens(answer.input_tokens, answer.output_tokens)
        return answer

    def _create_with_retries(self, client: anthropic.Anthropic, prompt: Prompt) -> anthropic.types.Message:
        s = self.settings
        attempt = 0
        while True:
            try:
                return client.messages.create(
                    model=s.model,
                    max_tokens=s.max_tokens,
                    system=prompt.system,
                    messages=[{"role": "user", "content": prompt.user}],
                )
            except json.JSONDecodeError as exc:
                raise SggitError(
                    "the anthropic endpoint answered with something that is not JSON",
                    hint="check that ANTHROPIC_BASE_URL points at the Messages API",
                ) from exc
            except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
                raise SggitError(
                    f"anthropic refused the credentials ({_describe(exc)})",
                    hint="check ANTHROPIC_API_KEY",
                ) from exc
            except anthropic.APIError as exc:
                if not _retryable(exc):
                    raise SggitError(
                        f"anthropic refused the request ({_describe(exc)})",
                        hint=f"check the model name ({s.model}) and SGGIT_ANTHROPIC_* settings",
                    ) from exc
                if attempt >= s.max_retries:
                    raise EngineUnavailable(
                        f"anthropic still failing after {attempt + 1} attempts ({_describe(exc)})",
                        hint="try again later, or use --engine gp",
                    ) from exc
                wait = _retry_after(exc) if isinstance(exc, anthropic.APIStatusError) else None
                if wait is not None and wait > s.retry_max_delay:
                    raise EngineUnavailable(
                        f"anthropic asks to wait {wait:.0f}s before retrying, more than the {s.retry_max_delay:.0f}s allowed ({_describe(exc)})",
                        hint="try again later, or raise SGGIT_ANTHROPIC_RETRY_MAX_DELAY",
                    ) from exc
                if wait is None:
                    wait = min(s.retry_base_delay * 2**attempt, s.retry_max_delay) * random.uniform(0.75, 1.0)
                attempt += 1
                time.sleep(wait)
