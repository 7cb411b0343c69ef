from __future__ import annotations

from pathlib import Path

import pytest

from sggit.engines.base import ContractBrief, MutationContext
from sggit.engines.candidates import RejectionLog
from sggit.engines.fixture import FixtureEngine
from sggit.errors import UsageError

from .conftest import GOOD


def _variant(n: int) -> str:
    return GOOD.replace('"success": True', f'"success": True, "variant": {n}')


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    root = tmp_path / "fixtures"
    (root / "bridge_create").mkdir(parents=True)
    (root / "bridge_stp").mkdir()
    for name, n in (("20_b.py", 2), ("10_a.py", 1), ("30_c.py", 3)):
        (root / "bridge_create" / name).write_text(_variant(n))
    (root / "bridge_create" / "notes.txt").write_text("not a candidate")
    (root / "bridge_stp" / "a.py").write_text(_variant(9))
    return root


def _ctx(locus: str) -> MutationContext:
    return MutationContext(contract=ContractBrief(locus=locus), parent="p", error="e")


def test_offers_sources_in_name_order_and_never_twice(fixtures, tmp_path):
    engine = FixtureEngine(fixtures, state_dir=tmp_path / "state")
    first = engine.propose(_ctx("bridge_create"), count=2)
    assert [p.source for p in first] == [_variant(1), _variant(2)]
    assert [p.note for p in first] == ["10_a.py", "20_b.py"]
    assert {p.engine for p in first} == {"fixture"}
    assert [p.source for p in engine.propose(_ctx("bridge_create"), count=5)] == [_variant(3)]
    assert engine.propose(_ctx("bridge_create")) == []


def test_memory_is_per_locus_and_survives_a_new_process(fixtures, tmp_path):
    FixtureEngine(fixtures, state_dir=tmp_path / "state").propose(_ctx("bridge_create"))
    again = FixtureEngine(fixtures, state_dir=tmp_path / "state")
    assert [p.note for p in again.propose(_ctx("bridge_create"))] == ["20_b.py"]
    assert [p.source for p in again.propose(_ctx("bridge_stp"))] == [_variant(9)]
    assert again.propose(_ctx("no_such_locus")) == []


def test_an_edited_file_is_new(fixtures, tmp_path):
    engine = FixtureEngine(fixtures, state_dir=tmp_path / "state")
    engine.propose(_ctx("bridge_create"), count=3)
    (fixtures / "bridge_create" / "10_a.py").write_text(_variant(4))
    assert [p.source for p in engine.propose(_ctx("bridge_create"))] == [_variant(4)]


def test_bad_fixture_is_rejected_logged_and_not_offered_again(fixtures, tmp_path):
    (fixtures / "bridge_create" / "00_bad.py").write_text("def execute(:\n")
    engine = FixtureEngine(fixtures, state_dir=tmp_path / "state")
    assert [p.note for p in engine.propose(_ctx("bridge_create"), count=2)] == ["10_a.py"]
    (record,) = RejectionLog(tmp_path / "state").read()
    assert record.engine == "fixture" and record.note == "00_bad.py"
    assert [p.note for p in engine.propose(_ctx("bridge_create"), count=1)] == ["20_b.py"]


def test_missing_fixture_directory_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        FixtureEngine(tmp_path / "nowhere", state_dir=tmp_path / "state")
