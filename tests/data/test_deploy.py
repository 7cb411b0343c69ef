"""`sggit plan` and `sggit deploy` of the data domain's topology on a real SQLite file.

The table resource plans its own pathway run and reads the database's catalog to
say whether it is to create, already there, or there but different.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from sggit.domains.data import ROOT
from tests.data.conftest import dump
from tests.helpers import sg_in


@pytest.fixture
def bound(tmp_path: Path, csv_server: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data genome whose phenotype binds the topology's source to the loopback server."""
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    root = tmp_path / "genome"
    (root / "phenotypes").mkdir(parents=True)
    shipped = (ROOT / "phenotypes" / "warehouse.toml").read_text()
    (root / "phenotypes" / "warehouse.toml").write_text(shipped + f'source = "{csv_server}/readings.csv"\n')
    sg_in(tmp_path, "init", str(root), "--domain", "data")
    return root


def plan(root: Path) -> list[dict]:
    result = sg_in(root, "plan", "warehouse", "--kernel", "data-sqlite", "--format", "json")
    return json.loads(result.stdout)["changes"]


def test_a_table_is_planned_deployed_and_then_left_alone(bound: Path, csv_server: str) -> None:
    [change] = plan(bound)
    assert change["action"] == "create"
    assert change["invocation"]["pathway"] == "ingest_clean_and_load"
    assert change["invocation"]["inputs"] == {
        "url": f"{csv_server}/readings.csv", "staging": "readings_staging", "target": "readings",
        "columns": ["station", "day", "temperature"],
        "mapping": {"station": "station", "day": "day", "temperature": "temperature"}}

    result = sg_in(bound, "deploy", "warehouse", "--kernel", "data-sqlite")
    assert result.stdout.splitlines()[:2] == ["deploy warehouse for warehouse: ok", "  readings           created"]
    with open(ROOT / "data" / "readings.csv", newline="") as handle:
        expected = {tuple(cell or None for cell in row.values()) for row in csv.DictReader(handle)}  # empty cells load as NULL
    conn = sqlite3.connect(bound / "warehouse.db")
    assert set(conn.execute("SELECT station, day, temperature FROM readings").fetchall()) == expected
    conn.close()

    before = dump(bound / "warehouse.db")
    [again] = plan(bound)
    assert again["action"] == "unchanged" and "table readings with columns station, day, temperature" in again["reason"]
    result = sg_in(bound, "deploy", "warehouse", "--kernel", "data-sqlite")
    assert "readings           unchanged" in result.stdout
    assert dump(bound / "warehouse.db") == before


def test_a_table_of_another_shape_is_reported_and_never_rebuilt(bound: Path) -> None:
    conn = sqlite3.connect(bound / "warehouse.db")
    conn.execute("CREATE TABLE readings (station TEXT)")
    conn.commit()
    conn.close()
    before = dump(bound / "warehouse.db")
    [change] = plan(bound)
    assert (change["action"], change["reason"]) == ("change", "table readings exists without columns day, temperature")
    result = sg_in(bound, "deploy", "warehouse", "--kernel", "data-sqlite", code=1)
    assert "an existing resource is never rebuilt in place" in result.stdout
    assert "on failure" not in result.stdout  # the warehouse topology declares no policy
    assert dump(bound / "warehouse.db") == before


def test_the_mock_plans_against_its_sample_of_the_database(bound: Path) -> None:
    """With no database file yet, the mock starts from the shipped fixture table only."""
    result = sg_in(bound, "plan", "warehouse")
    assert "+ readings           create      ingest_clean_and_load: table readings from" in result.stdout
    assert not (bound / "warehouse.db").exists()
