"""The anthropic engine over real HTTP (the official SDK) against the local stand-in server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sggit.engines.base import MutationContext
from sggit.engines.candidates import RejectionLog
from sggit.engines.llm import BudgetExhausted, EngineUnavailable
from sggit.errors import SggitError

from .conftest import DOES, GOOD, PARENT, fenced
from .standin import Reply, error, message

OTHER = GOOD.replace('"success": True', '"success": bool(data)')


def test_mutation_prompt_carries_contract_parent_and_failure(make, standin, failure):
    standin.queue(message(fenced(GOOD)))
    proposals = make().propose(failure)

    assert [p.source for p in proposals] == [GOOD]
    assert proposals[0].engine == "anthropic"
    assert proposals[0].model == "claude-standin-1"
    assert proposals[0].note == "mutate"
    (request,) = standin.requests
    credential = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    assert credential.removeprefix("Bearer ") == "sk-standin"
    body = request.body
    assert body["model"] == "claude-standin-1"
    assert body["max_tokens"] == 4096
    assert "```python block" in body["system"]
    user = body["messages"][0]["content"]
    assert DOES in user
    for line in (
        "Bridge with this name does not already exist",
        "Bridge exists and is in UP state",
        "bridge already exists -> success=false",
        PARENT.strip(),
        "KeyError: 'interfaces'",
        '"bridge_name": "br0"',
        'Device "br0" does not exist.',
    ):
        assert line in user
    assert proposals[0].prompt_hash and len(proposals[0].prompt_hash) == 64


def test_several_blocks_are_several_candidates_capped_by_count(make, standin, failure):
    third = OTHER.replace("bool(data)", "len(data) > 0")
    standin.queue(message(fenced(GOOD, OTHER, third)))
    engine = make()
    assert [p.source for p in engine.propose(failure, count=2)] == [GOOD, OTHER]
    assert "3 different new alleles" not in standin.requests[0].body["messages"][0]["content"]
    assert "2 different new alleles" in standin.requests[0].body["messages"][0]["content"]


def test_same_failure_is_answered_from_cache(make, standin, failure, state_dir):
    standin.queue(message(fenced(GOOD)), message(fenced(OTHER)))
    first = make().propose(failure)
    again = make().propose(failure)
    assert [p.source for p in again] == [p.source for p in first] == [GOOD]
    assert again[0].note == "mutate (cached answer)"
    assert len(standin.requests) == 1

    other_failure = failure.model_copy(update={"error": "OSError: netlink unavailable"})
    assert [p.source for p in make().propose(other_failure)] == [OTHER]
    assert len(standin.requests) == 2
    budget = json.loads((state_dir / "anthropic" / "budget.json").read_text())
    assert budget["calls"] == 2
    assert budget["input_tokens"] == 200 and budget["output_tokens"] == 100


def test_rate_limit_is_retried_after_the_wait_the_server_asks(make, standin, failure, state_dir):
    standin.queue(
        error(429, "rate_limit_error", "slow down", {"retry-after": "0.05"}),
        error(429, "rate_limit_error", "slow down", {"retry-after-ms": "20"}),
        message(fenced(GOOD)),
    )
    assert [p.source for p in make().propose(failure)] == [GOOD]
    assert len(standin.requests) == 3
    budget = json.loads((state_dir / "anthropic" / "budget.json").read_text())
    assert budget["calls"] == 1


def test_server_errors_and_dropped_connections_are_retried(make, standin, failure):
    standin.queue(
        error(500, "api_error", "boom"),
        error(529, "overloaded_error", "overloaded"),
        Reply(drop=True),
        message(fenced(GOOD)),
    )
    assert [p.source for p in make().propose(failure)] == [GOOD]
    assert len(standin.requests) == 4


def test_gives_up_after_the_configured_retries(make, standin, failure, state_dir):
    standin.fallback = error(503, "api_error", "down for maintenance")
    with pytest.raises(EngineUnavailable, match=r"after 3 attempts \(HTTP 503 api_error: down for maintenance\)"):
        make(max_retries=2).propose(failure)
    assert len(standin.requests) == 3
    assert json.loads((state_dir / "anthropic" / "budget.json").read_text())["calls"] == 0


def test_a_wait_longer_than_allowed_stops_with_a_clear_message(make, standin, failure):
    standin.queue(error(429, "rate_limit_error", "daily quota", {"retry-after": "3600"}))
    with pytest.raises(EngineUnavailable, match="asks to wait 3600s"):
        make().propose(failure)
    assert len(standin.requests) == 1


def test_bad_credentials_are_not_retried(make, standin, failure):
    standin.queue(error(401, "authentication_error", "invalid x-api-key"))
    with pytest.raises(SggitError) as info:
        make().propose(failure)
    assert "credentials" in str(info.value) and "ANTHROPIC_API_KEY" in str(info.value)
    assert not isinstance(info.value, EngineUnavailable)
    assert len(standin.requests) == 1


def test_unknown_model_is_reported_with_its_name(make, standin, failure):
    standin.queue(error(404, "not_found_error", "model: claude-nope"))
    with pytest.raises(SggitError) as info:
        make(model="claude-nope").propose(failure)
    assert str(info.value).startswith("anthropic refused the request (HTTP 404 not_found_error: model: claude-nope)")
    assert "check the model name (claude-nope)" in str(info.value)
    assert len(standin.requests) == 1


def _reasons(state_dir: Path) -> list[list[str]]:
    return [r.reasons for r in RejectionLog(state_dir).read()]


def test_answer_without_code_block_is_logged_and_cached(make, standin, failure, state_dir):
    standin.queue(message("I think the parent should check for the key first."))
    assert make().propose(failure) == []
    (record,) = RejectionLog(state_dir).read()
    assert record.reasons == ["answer holds no ```python block"]
    assert record.engine == "anthropic" and record.locus == "bridge_create"
    assert record.signature == failure.signature()
    assert "check for the key first" in (record.note or "")
    assert make().propose(failure) == []
    assert len(standin.requests) == 1


def test_code_that_does_not_parse_is_rejected(make, standin, failure, state_dir):
    standin.queue(message(fenced("def execute(input_json:\n    return '{'\n", GOOD)))
    assert [p.source for p in make().propose(failure)] == [GOOD]
    ((reason,),) = _reasons(state_dir)
    assert "syntax error" in reason


def test_code_without_execute_is_rejected(make, standin, failure, state_dir):
    standin.queue(message(fenced("def run(input_json):\n    return '{}'\n")))
    assert make().propose(failure) == []
    ((reason,),) = _reasons(state_dir)
    assert "no top-level function `execute" in reason
    (record,) = RejectionLog(state_dir).read()
    assert record.source.startswith("def run(")


def test_imports_outside_the_allowlist_are_rejected(make, standin, failure, state_dir):
    standin.queue(message(fenced("import subprocess\n\ndef execute(input_json):\n    return subprocess.getoutput('ip link')\n")))
    assert make().propose(failure) == []
    assert any("import of subprocess is outside the allowlist" in r for r in _reasons(state_dir)[0])


def test_a_candidate_equal_to_the_parent_is_rejected(make, standin, failure, state_dir):
    standin.queue(message(fenced(PARENT)))
    assert make().propose(failure) == []
    assert _reasons(state_dir) == [["identical to an allele the locus already has"]]


def test_answer_cut_off_at_max_tokens_says_so(make, standin, failure, state_dir):
    standin.queue(message("```python\nimport json\n\ndef execute(input_json):\n    return json.du", stop_reason="max_tokens"))
    assert make().propose(failure) == []
    ((reason,),) = _reasons(state_dir)
    assert "cut off" in reason and "max_tokens" in reason


def test_daily_call_budget_stops_with_a_clear_message(make, standin, failure):
    standin.fallback = message(fenced(GOOD))
    engine = make(calls_per_day=2)
    for n in range(2):
        engine.propose(failure.model_copy(update={"error": f"error {n}"}))
    with pytest.raises(BudgetExhausted, match="2 of 2 calls"):
        engine.propose(failure.model_copy(update={"error": "error 3"}))
    assert len(standin.requests) == 2
    assert [p.source for p in engine.propose(failure.model_copy(update={"error": "error 0"}))] == [GOOD]


def test_daily_token_budget_stops_with_a_clear_message(make, standin, failure):
    standin.fallback = message(fenced(GOOD), input_tokens=900, output_tokens=200)
    engine = make(tokens_per_day=1000)
    engine.propose(failure)
    with pytest.raises(BudgetExhausted, match="1100 of 1000 tokens"):
        engine.propose(failure.model_copy(update={"error": "another"}))
    assert len(standin.requests) == 1


def test_generate_mode_asks_for_different_approaches(make, standin, contract):
    standin.queue(message(fenced(GOOD, OTHER, OTHER.replace("bool(data)", "'bridge_name' in data"))))
    proposals = make().propose(MutationContext(contract=contract), count=3)
    assert len(proposals) == 3
    assert {p.note for p in proposals} == {"generate"}
    user = standin.requests[0].body["messages"][0]["content"]
    assert "Write 3 different implementations" in user
    assert "different approach" in user
    assert DOES in user
    assert "failing allele" not in user


def test_model_and_max_tokens_are_configurable(make, standin, failure):
    standin.fallback = message(fenced(GOOD))
    make(model="claude-other", max_tokens=1234).propose(failure)
    (request,) = standin.requests
    assert request.body["model"] == "claude-other" and request.body["max_tokens"] == 1234


def test_missing_key_is_a_usage_error_only_when_a_call_is_needed(standin, failure, state_dir, monkeypatch):
    from sggit.engines.llm import AnthropicEngine
    from sggit.errors import UsageError

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    engine = AnthropicEngine(state_dir=state_dir, base_url=standin.url)
    with pytest.raises(UsageError, match="needs an API key"):
        engine.propose(failure)
    assert standin.requests == []


def test_an_answer_that_is_not_json_is_a_clear_error(make, standin, failure, state_dir):
    standin.queue(Reply(raw=b"<html>502 from a proxy</html>"))
    with pytest.raises(SggitError, match="not JSON") as info:
        make().propose(failure)
    assert "ANTHROPIC_BASE_URL" in str(info.value)
    assert json.loads((state_dir / "anthropic" / "budget.json").read_text())["calls"] == 0


def test_an_empty_message_is_an_answer_without_code(make, standin, failure, state_dir):
    standin.queue(Reply(body={"type": "message"}))
    assert make().propose(failure) == []
    assert _reasons(state_dir) == [["answer holds no ```python block"]]


def test_a_cached_candidate_already_registered_is_not_offered_again(make, standin, failure):
    standin.queue(message(fenced(GOOD, OTHER)))
    make().propose(failure, count=2)
    registered = failure.model_copy(update={"siblings": {"g" * 64: GOOD}})
    assert [p.source for p in make().propose(registered, count=2)] == [OTHER]
    assert len(standin.requests) == 1


def test_generating_one_allele_asks_for_one_block(make, standin, contract):
    standin.queue(message(fenced(GOOD)))
    assert [p.source for p in make().propose(MutationContext(contract=contract))] == [GOOD]
    user = standin.requests[0].body["messages"][0]["content"]
    assert user.startswith("Write an implementation of the gene below.")
    assert user.rstrip().endswith("Give exactly one ```python block.")
