from __future__ import annotations

import json

import pytest

from sggit.engines.llm import BudgetExhausted, DailyBudget
from sggit.errors import SggitError


def test_counters_reset_when_the_utc_day_changes(tmp_path):
    day = ["2026-11-22"]
    budget = DailyBudget(tmp_path / "b.json", max_calls=1, max_tokens=100, today=lambda: day[0])
    budget.reserve_call()
    budget.add_tokens(10, 5)
    with pytest.raises(BudgetExhausted, match="1 of 1 calls used on 2026-11-22"):
        budget.reserve_call()
    day[0] = "2026-11-23"
    budget.reserve_call()
    assert json.loads((tmp_path / "b.json").read_text()) == {
        "day": "2026-11-23", "calls": 1, "input_tokens": 0, "output_tokens": 0,
    }


def test_a_released_call_is_available_again(tmp_path):
    budget = DailyBudget(tmp_path / "b.json", max_calls=1, max_tokens=100)
    budget.reserve_call()
    budget.release_call()
    budget.reserve_call()
    assert budget.usage().calls == 1


def test_damaged_state_is_reported_not_reset(tmp_path):
    (tmp_path / "b.json").write_text("{not json")
    budget = DailyBudget(tmp_path / "b.json", max_calls=1, max_tokens=100)
    with pytest.raises(SggitError, match="damaged"):
        budget.reserve_call()
    assert (tmp_path / "b.json").read_text() == "{not json"


def _claim(path: str) -> bool:
    try:
        DailyBudget(path, max_calls=5, max_tokens=10**9).reserve_call()
        return True
    except BudgetExhausted:
        return False


def test_concurrent_processes_never_overspend(tmp_path):
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_claim, [str(tmp_path / "b.json")] * 12)
    assert results.count(True) == 5
    assert json.loads((tmp_path / "b.json").read_text())["calls"] == 5
