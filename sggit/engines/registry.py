"""Choosing a mutation engine by name, as `--engine auto|anthropic|gp|fixture|none` does.

`auto` uses the LLM when a key is set and the network-free gp engine otherwise,
so a machine with no credentials still evolves. Every engine comes back behind
the static screen, so no caller has to remember to screen.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sggit.engines.base import Engine, Evaluator, NoEngine, missing_api_key
from sggit.engines.candidates import ScreenedEngine
from sggit.errors import SggitError, UsageError


@dataclass(frozen=True)
class EngineOptions:
    """What a command can hand an engine factory; each factory takes what it needs."""

    state_dir: Path
    evaluator: Evaluator | None = None
    fixture_dir: str | Path | None = None
    seed: int | None = None
    model: str | None = None


def _none(options: EngineOptions) -> Engine:
    return NoEngine()


_noted: list[Path] = []
"""Whether this process has said which prepared alleles the fixture engine offers (once is enough)."""


def _fixture(options: EngineOptions) -> Engine:
    """Without a directory, the prepared alleles shipped with sggit (`fixtures/alleles/`), so walkthroughs run anywhere.

    Which directory that is gets said on stderr: an operator who meant their own
    prepared alleles learns that the flag is missing before anything is registered.
    """
    from sggit.engines.fixture import FixtureEngine
    from sggit.shipped import shipped_root

    directory = options.fixture_dir
    if directory is None:
        directory = shipped_root() / "fixtures" / "alleles"
        if not _noted:
            _noted.append(directory)
            print(f"sggit: note: --engine fixture without --fixture-dir offers sggit's prepared alleles from {directory}",
                  file=sys.stderr, flush=True)
    return FixtureEngine(directory, state_dir=options.state_dir)


def _anthropic(options: EngineOptions) -> Engine:
    if not os.environ.get("ANTHROPIC_API_KEY"):
        raise missing_api_key()
    from sggit.engines.llm import AnthropicEngine, AnthropicSettings

    return AnthropicEngine(state_dir=options.state_dir, settings=AnthropicSettings.from_env(model=options.model))


def _gp(options: EngineOptions) -> Engine:
    return ScreenedEngine(_gp_engine(options.evaluator, options.seed), options.state_dir)


ENGINES: dict[str, Callable[[EngineOptions], Engine]] = {
    "anthropic": _anthropic,
    "gp": _gp,
    "fixture": _fixture,
    "none": _none,
}
"""Concrete engines by name; `auto` stands for one of them (see resolve_name)."""

ENGINE_NAMES: tuple[str, ...] = ("auto", *ENGINES)


def resolve_name(name: str, env: dict[str, str] | None = None) -> str:
    """The concrete engine `name` stands for (`auto` decided by ANTHROPIC_API_KEY)."""
    env = dict(os.environ if env is None else env)
    if name != "auto" and name not in ENGINES:
        raise UsageError(f"unknown engine {name!r}", hint=f"choose one of: {', '.join(ENGINE_NAMES)}")
    if name == "auto":
        return "anthropic" if env.get("ANTHROPIC_API_KEY") else "gp"
    return name


def make_engine(
    name: str,
    *,
    state_dir: str | Path,
    evaluator: Evaluator | None = None,
    fixture_dir: str | Path | None = None,
    seed: int | None = None,
    model: str | None = None,
) -> Engine:
    options = EngineOptions(Path(state_dir), evaluator=evaluator, fixture_dir=fixture_dir, seed=seed, model=model)
    return ENGINES[resolve_name(name)](options)


def _gp_engine(evaluator: Evaluator | None, seed: int | None) -> Engine:
    try:
        from sggit.engines.gp import GPEngine
    except ImportError as exc:
        if exc.name != "sggit.engines.gp":
            raise
        raise SggitError(
            "the gp engine is not available in this build",
            hint="set ANTHROPIC_API_KEY for the anthropic engine, or use --engine fixture/none",
        ) from exc
    if evaluator is None:
        raise SggitError("the gp engine needs an evaluator to score its candidates")
    return GPEngine(evaluator, seed=seed)
