from __future__ import annotations

import sys
import types

import pytest

from sggit.engines.base import Case, Engine, Evaluation, Evaluator, MutationContext, NoEngine, Proposal
from sggit.engines.candidates import ScreenedEngine
from sggit.engines.fixture import FixtureEngine
from sggit.engines.llm import AnthropicEngine
from sggit.engines.registry import ENGINE_NAMES, make_engine, resolve_name
from sggit.errors import SggitError, UsageError

from .conftest import GOOD, fenced
from .standin import message


def test_auto_means_anthropic_only_with_a_key():
    assert resolve_name("auto", {"ANTHROPIC_API_KEY": "k"}) == "anthropic"
    assert resolve_name("auto", {}) == "gp"
    assert resolve_name("auto", {"ANTHROPIC_API_KEY": ""}) == "gp"
    assert [resolve_name(n, {}) for n in ENGINE_NAMES[1:]] == list(ENGINE_NAMES[1:])


def test_unknown_engine_lists_the_choices(tmp_path):
    with pytest.raises(UsageError) as info:
        make_engine("gpt", state_dir=tmp_path)
    assert "auto, anthropic, gp, fixture, none" in str(info.value)


def test_none_and_fixture(tmp_path, capsys, monkeypatch):
    from sggit.engines import registry

    monkeypatch.setattr(registry, "_noted", [])
    assert isinstance(make_engine("none", state_dir=tmp_path), NoEngine)
    shipped = make_engine("fixture", state_dir=tmp_path)  # without a directory: the alleles shipped with sggit, and it says so
    assert isinstance(shipped, FixtureEngine) and (shipped.fixture_dir / "bridge_uplink" / "garp.py").is_file()
    assert f"without --fixture-dir offers sggit's prepared alleles from {shipped.fixture_dir}" in capsys.readouterr().err
    make_engine("fixture", state_dir=tmp_path)
    assert capsys.readouterr().err == ""  # said once a process
    (tmp_path / "fx").mkdir()
    assert isinstance(make_engine("fixture", state_dir=tmp_path, fixture_dir=tmp_path / "fx"), FixtureEngine)


def test_anthropic_needs_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(UsageError, match="API key"):
        make_engine("anthropic", state_dir=tmp_path)


def test_anthropic_from_the_environment_talks_to_base_url(tmp_path, monkeypatch, standin, failure):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", standin.url)
    monkeypatch.setenv("SGGIT_ANTHROPIC_MAX_TOKENS", "777")
    monkeypatch.setenv("SGGIT_ANTHROPIC_MODEL", "claude-from-env")
    standin.queue(message(fenced(GOOD)))
    engine = make_engine("auto", state_dir=tmp_path, model="claude-from-flag")
    assert isinstance(engine, AnthropicEngine)
    assert [p.source for p in engine.propose(failure)] == [GOOD]
    (request,) = standin.requests
    assert request.body["model"] == "claude-from-flag"
    assert request.body["max_tokens"] == 777


def test_bad_setting_in_the_environment_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-env")
    monkeypatch.setenv("SGGIT_ANTHROPIC_CALLS_PER_DAY", "lots")
    with pytest.raises(UsageError, match="calls_per_day"):
        make_engine("anthropic", state_dir=tmp_path)
    monkeypatch.setenv("SGGIT_ANTHROPIC_CALLS_PER_DAY", "10")
    monkeypatch.setenv("SGGIT_ANTHROPIC_MAX_TOKENS", "0")
    with pytest.raises(UsageError, match="max_tokens"):
        make_engine("anthropic", state_dir=tmp_path)


def test_missing_gp_engine_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setitem(sys.modules, "sggit.engines.gp", None)
    with pytest.raises(SggitError, match="gp engine is not available"):
        make_engine("auto", state_dir=tmp_path)


class _NullEvaluator(Evaluator):
    def evaluate(self, sources: list[str], cases: list[Case]) -> list[Evaluation]:
        return [Evaluation(passed=0, total=len(cases)) for _ in sources]


def test_gp_engine_gets_evaluator_and_seed_and_is_screened(tmp_path, monkeypatch, failure):
    made: dict[str, object] = {}

    class GPEngine(Engine):
        name = "gp"

        def __init__(self, evaluator: Evaluator, seed: int | None = None) -> None:
            made.update(evaluator=evaluator, seed=seed)

        def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
            return [Proposal(source="def execute(:\n", engine="gp"), Proposal(source=GOOD, engine="gp")]

    module = types.ModuleType("sggit.engines.gp")
    module.GPEngine = GPEngine  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sggit.engines.gp", module)
    evaluator = _NullEvaluator()
    engine = make_engine("gp", state_dir=tmp_path, evaluator=evaluator, seed=7)
    assert isinstance(engine, ScreenedEngine) and engine.name == "gp"
    assert made == {"evaluator": evaluator, "seed": 7}
    assert [p.source for p in engine.propose(failure)] == [GOOD]
    with pytest.raises(SggitError, match="needs an evaluator"):
        make_engine("gp", state_dir=tmp_path)
