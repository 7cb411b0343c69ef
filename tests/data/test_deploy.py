"""`sggit plan` and `sggit deploy` of the data domain's topology on a real SQLite file.

The table resource plans its own pathway run and reads the database's catalog to
say whether it is to create, already there, or there but different.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sggit.domains.data import ROOT
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
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


def test_a_fresh_project_on_the_real_database_is_told_what_to_bind(warehouse: Path, csv_server: str) -> None:
    """The default source is the mock's fixture host: refused before any gene runs (none scored), until it is bound and init has run."""
    for command in ("plan", "deploy"):
        result = sg_in(warehouse, command, "warehouse", "--kernel", "data-sqlite", code=2)
        assert ("table readings: its source cannot be fetched on the data-sqlite kernel: host fixtures.invalid is not allowed"
                " by the phenotype (allow_hosts: 127.0.0.1); fixtures.invalid serves the shipped files on data-mock and in shadows only") in result.output
        assert 'hint: bind the topology\'s source to a URL on a host in allow_hosts, e.g. source = "http://127.0.0.1:8000/readings.csv"' in result.output
    assert pending_records(Genome.open(warehouse)) == []
    assert dump(warehouse / "warehouse.db") == dump(Path(":memory:"))

    toml = warehouse / "phenotypes" / "warehouse.toml"
    toml.write_text(toml.read_text() + f'source = "{csv_server}/readings.csv"\n')
    sg_in(warehouse, "deploy", "warehouse", "--kernel", "data-sqlite", code=2)  # the map on phenotype/warehouse is not the file
    assert "phenotype/warehouse follows phenotypes/warehouse.toml: bindings.source" in sg_in(warehouse, "init").output
    assert "readings           created" in sg_in(warehouse, "deploy", "warehouse", "--kernel", "data-sqlite").stdout
    first = dump(warehouse / "warehouse.db")
    assert "readings           unchanged" in sg_in(warehouse, "deploy", "warehouse", "--kernel", "data-sqlite").stdout
    assert dump(warehouse / "warehouse.db") == first
    # the file's one null reaches readings (the topology requires no column): check_nulls scores transform_records, once
    assert [(r.locus, r.timescale) for r in pending_records(Genome.open(warehouse)) if not r.ok] == [("transform_records", "convergence")]


def test_the_documented_run_makes_the_table_the_topology_declares(warehouse: Path, csv_server: str) -> None:
    """docs/domains.md's example, as written: after it, plan and deploy on the real database find readings there."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "domains.md").read_text()
    [given] = re.findall(r"sggit run ingest_clean_and_load --kernel data-sqlite --input '(\{.*?\})'", doc, re.DOTALL)
    given = given.replace("http://127.0.0.1:8000", csv_server)
    sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", given)
    before = dump(warehouse / "warehouse.db")
    [change] = plan(warehouse)
    assert (change["action"], change["reason"]) == ("unchanged", "table readings with columns station, day, temperature")
    assert "readings           unchanged" in sg_in(warehouse, "deploy", "warehouse", "--kernel", "data-sqlite").stdout
    assert dump(warehouse / "warehouse.db") == before
    [directory] = re.findall(r"--directory \"\$\(python -c '(.*?)'\)\"", doc)  # where the doc's server finds the CSV files
    printed = subprocess.run([sys.executable, "-c", directory], cwd=warehouse, capture_output=True, text=True, check=True).stdout
    assert printed == f"{ROOT / 'data'}\n" and (ROOT / "data" / "readings.csv").is_file()


def test_a_staging_table_left_behind_is_replaced(bound: Path) -> None:
    conn = sqlite3.connect(bound / "warehouse.db")
    conn.execute("CREATE TABLE readings_staging (other TEXT)")
    conn.execute("INSERT INTO readings_staging VALUES ('left over')")
    conn.commit()
    conn.close()
    [change] = plan(bound)
    assert change["action"] == "create" and change["reason"].endswith("through readings_staging (replacing the one there)")
    assert "readings           created" in sg_in(bound, "deploy", "warehouse", "--kernel", "data-sqlite").stdout
    conn = sqlite3.connect(bound / "warehouse.db")
    assert [r[1] for r in conn.execute('PRAGMA table_info("readings_staging")')] == ["station", "day", "temperature"]
    assert conn.execute("SELECT COUNT(*) FROM readings").fetchone() == (5,)  # the duplicate bergen row is cleaned away
    conn.close()


def test_a_table_that_stages_into_another_tables_staging_is_refused_before_any_gene_runs(bound: Path) -> None:
    """Two loads through one staging table would each replace what the other staged; to SQLite the case of a name is no difference."""
    contract = bound / "contracts" / "data" / "topologies" / "warehouse.sg"
    text = contract.read_text()
    second = ("    stations:\n      is table\n      source {source}\n      staging Readings_Staging\n"
              "      columns [station, day, temperature]\n\n")
    contract.write_text(text.replace("  takes:\n", second + "  takes:\n"))
    line = contract.read_text().splitlines().index("    stations:") + 1
    said = "resource stations: Readings_Staging, its staging table, is already the staging table of resource readings"
    result = sg_in(bound, "plan", "warehouse", "--kernel", "data-sqlite", code=2)
    assert f"{contract}:{line}:5: {said}" in result.output, result.output
    assert not (bound / "warehouse.db").exists() or "stations" not in "".join(dump(bound / "warehouse.db"))
    assert pending_records(Genome.open(bound)) == []
