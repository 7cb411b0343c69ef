"""The data domain's pathways on a real SQLite file, through `sggit run --kernel data-sqlite`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from tests.data.conftest import dump
from tests.helpers import sg_in

EMPTY = dump(Path(":memory:"))
READINGS = {"station": "station", "day": "day", "celsius": "temperature"}


def load(url: str, columns: list[str] | None = None, required: list[str] | None = None) -> str:
    return json.dumps({
        "url": url, "staging": "staging", "target": "readings",
        "columns": columns or ["station", "day", "temperature"],
        "mapping": READINGS, "types": {"celsius": "REAL"}, "required": ["temperature"] if required is None else required,
    })


def test_ingest_clean_and_load_fills_the_target_table(warehouse: Path, csv_server: str) -> None:
    result = sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", load(f"{csv_server}/readings.csv"))
    steps = json.loads(result.stdout)["output"]
    assert steps["1"]["rows"] == 6 and steps["3"]["dropped"] == 2 and steps["5"]["healthy"] is True
    conn = sqlite3.connect(warehouse / "warehouse.db")
    rows = conn.execute('SELECT station, day, celsius FROM readings ORDER BY station, day').fetchall()
    assert rows == [("bergen", "2026-01-01", 4.2), ("oslo", "2026-01-01", -3.5), ("oslo", "2026-01-02", -1.0), ("tromso", "2026-01-02", -8.1)]
    assert conn.execute('SELECT COUNT(*) FROM staging').fetchone() == (4,)


def test_a_failed_step_rolls_back_every_step_and_leaves_the_database_unchanged(warehouse: Path, csv_server: str) -> None:
    sg_in(warehouse, "run", "ingest_and_validate", "--kernel", "data-sqlite",
          "--input", json.dumps({"url": f"{csv_server}/readings.csv", "table": "kept", "columns": ["station"]}))
    before = dump(warehouse / "warehouse.db")
    assert any("kept" in line for line in before)
    # temperature was renamed temp_c: transform_records (step 4) fails after ingest and dedupe changed the file
    result = sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite",
                   "--input", load(f"{csv_server}/readings_renamed.csv", columns=["station", "day"], required=[]), code=1)
    report = json.loads(result.stdout)["pathway"]
    assert [s["status"] for s in report["steps"]] == ["ok", "ok", "ok", "failed", "not_run"]
    assert [s["rolled_back"] for s in report["steps"][:3]] == [True, False, True]
    assert "has no column temperature" in report["steps"][3]["error"]
    assert report["rollback_errors"] == []
    assert dump(warehouse / "warehouse.db") == before


def test_a_failed_gene_is_undone_by_the_database(warehouse: Path, csv_server: str) -> None:
    """validate_schema fails inside ingest_and_validate: the table ingest_csv made is gone."""
    result = sg_in(warehouse, "run", "ingest_and_validate", "--kernel", "data-sqlite",
                   "--input", json.dumps({"url": f"{csv_server}/readings_renamed.csv", "table": "raw", "columns": ["temperature"]}), code=1)
    assert "lacks column(s) temperature" in json.loads(result.stdout)["pathway"]["steps"][1]["error"]
    assert dump(warehouse / "warehouse.db") == EMPTY


def test_a_host_the_phenotype_does_not_allow_is_the_callers_error_before_any_allele_runs(warehouse: Path, csv_server: str) -> None:
    """No allele could fetch it, so none is run or scored for it: the gene and the pathway alike."""
    url = csv_server.replace("127.0.0.1", "localhost") + "/readings.csv"
    result = sg_in(warehouse, "run", "ingest_csv", "--kernel", "data-sqlite", "--input", json.dumps({"url": url, "table": "raw"}), code=2)
    assert ("invalid input for ingest_csv: url: host localhost is not allowed by the phenotype (allow_hosts: 127.0.0.1)"
            in result.output)
    result = sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", load(url), code=2)
    assert "invalid input for ingest_clean_and_load: url: host localhost is not allowed" in result.output
    assert pending_records(Genome.open(warehouse)) == []
    assert dump(warehouse / "warehouse.db") == EMPTY
    sg_in(warehouse, "run", "ingest_csv", "--kernel", "data-sqlite",
          "--input", json.dumps({"url": f"{csv_server}/readings.csv", "table": "raw"}))
    assert "ingest_csv" in {r.locus for r in pending_records(Genome.open(warehouse))}  # an allowed host runs as before


def test_the_mock_is_a_sample_of_the_live_database_and_never_writes_it(warehouse: Path, csv_server: str) -> None:
    sg_in(warehouse, "run", "ingest_csv", "--kernel", "data-sqlite",
          "--input", json.dumps({"url": f"{csv_server}/readings.csv", "table": "raw"}))
    before = dump(warehouse / "warehouse.db")
    result = sg_in(warehouse, "run", "clean_records", "--kernel", "data-mock", "--input", json.dumps({"table": "raw", "required": ["temperature"]}))
    assert json.loads(result.stdout)["output"]["kept"] == 4
    assert dump(warehouse / "warehouse.db") == before


def test_a_data_gene_on_a_network_kernel_is_refused_before_it_runs(warehouse: Path) -> None:
    result = sg_in(warehouse, "run", "ingest_csv", "--kernel", "mock", "--input", '{"url": "http://127.0.0.1/x.csv", "table": "t"}', code=2)
    assert "ingest_csv belongs to domain data; the mock kernel is of domain network" in result.output
    for command in ("plan", "deploy"):  # a plan there could only say the kernel offers none of its resources
        refused = sg_in(warehouse, command, "warehouse", "--kernel", "mock", code=2)
        assert "warehouse belongs to domain data; the mock kernel is of domain network" in refused.output
        assert "hint: choose --kernel data-mock, data-sqlite" in refused.output, refused.output


def test_every_data_gene_passes_its_examples_on_the_mock(warehouse: Path) -> None:
    result = sg_in(warehouse, "test", "--format", "json")
    rows = json.loads(result.stdout)
    loci = {r["locus"] for r in rows}
    assert loci == {"ingest_csv", "validate_schema", "clean_records", "transform_records", "check_row_count", "check_nulls"}


def test_without_kernel_a_data_phenotype_runs_on_the_data_mock(warehouse: Path, csv_server: str) -> None:
    result = sg_in(warehouse, "run", "ingest_csv", "--input", json.dumps({"url": f"{csv_server}/readings.csv", "table": "raw"}))
    assert json.loads(result.stdout)["output"]["rows"] == 6
    assert not (warehouse / "warehouse.db").exists()


def test_convergence_is_the_row_count_after_the_load(warehouse: Path, csv_server: str, tmp_path: Path) -> None:
    """A file with a header and no records loads, but check_row_count finds it empty: a convergence failure of ingest_csv."""
    (tmp_path / "served" / "empty.csv").write_text("station,day,temperature\n", encoding="utf-8")
    result = sg_in(warehouse, "run", "ingest_csv", "--kernel", "data-sqlite", "--explain",
                   "--input", json.dumps({"url": f"{csv_server}/empty.csv", "table": "empty"}))
    assert "convergence: unhealthy" in result.stderr
    ingest = [(r.timescale, r.ok) for r in pending_records(Genome.open(warehouse)) if r.locus == "ingest_csv"]
    assert ingest == [("immediate", True), ("convergence", False)]


def test_a_diagnostic_scores_the_allele_that_produced_its_table(warehouse: Path, csv_server: str) -> None:
    """Nulls kept in the target: check_nulls (step 5) is unhealthy, a convergence failure of transform_records."""
    result = sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", load(f"{csv_server}/readings.csv", required=[]))
    step5 = json.loads(result.stdout)["output"]["5"]
    assert step5 == {"healthy": False, "nulls": 1, "null_columns": ["celsius"]}
    records = pending_records(Genome.open(warehouse))
    fed = [(r.timescale, r.ok) for r in records if r.locus == "transform_records"]
    assert ("convergence", False) in fed and ("immediate", True) in fed


def test_a_file_that_is_not_a_database_is_refused_before_any_gene_runs(warehouse: Path) -> None:
    (warehouse / "warehouse.db").write_text("not a database\n", encoding="utf-8")
    result = sg_in(warehouse, "run", "check_row_count", "--kernel", "data-sqlite", "--input", '{"table": "x"}', code=1)
    assert f"sggit: error: cannot open SQLite database {warehouse / 'warehouse.db'}: file is not a database" in result.output
    assert not pending_records(Genome.open(warehouse))


def test_a_table_name_no_database_accepts_is_the_callers_error(warehouse: Path, csv_server: str) -> None:
    """`sqlident` inputs: refused with their JSON path before any allele runs, so none is scored and nothing is made."""
    bad = json.loads(load(f"{csv_server}/readings.csv"))
    bad["staging"], bad["columns"] = "staging; drop table readings", ["station", "day-of-year"]
    result = sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", json.dumps(bad), code=2)
    assert "staging: a table or column name must be a letter or _ followed by letters, digits or _" in result.output
    assert "columns[1]:" in result.output and "'day-of-year'" in result.output
    assert pending_records(Genome.open(warehouse)) == []
    assert dump(warehouse / "warehouse.db") == EMPTY


def test_a_url_no_kernel_could_fetch_is_the_callers_error(warehouse: Path) -> None:
    """`httpurl`: a malformed URL is refused at its field, where it failed the allele inside the kernel."""
    for url, said in [("http://[::1", "is not a valid URL: Invalid IPv6 URL"), ("file:///etc/passwd", "is not an http or https URL")]:
        result = sg_in(warehouse, "run", "ingest_csv", "--kernel", "data-sqlite", "--input", json.dumps({"url": url, "table": "t"}), code=2)
        assert f"url: fetch_url: {url!r} {said}" in result.output, result.output
    assert pending_records(Genome.open(warehouse)) == []


def test_a_column_mapping_types_or_defaults_no_table_takes_are_the_callers_error(warehouse: Path, csv_server: str) -> None:
    """The json inputs are typed too (`columnmap`, `columntypes`, `columnvalues`): refused at their path, nothing scored or made."""
    for field, value, said in [
        ("mapping", {}, "mapping: a column mapping must be an object with at least one target column"),
        ("mapping", {"celsius": "temperature; drop table readings"}, "mapping: source column of 'celsius': a column name"),
        ("types", {"celsius": "DOUBLE"}, "types: column celsius: column type must be one of TEXT, INTEGER, REAL, got 'DOUBLE'"),
        ("defaults", {"temperature": [0]}, "defaults: column temperature: a value must be a string, a number or a boolean, got [0]"),
    ]:
        bad = {**json.loads(load(f"{csv_server}/readings.csv")), field: value}
        result = sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", json.dumps(bad), code=2)
        assert said in result.output, result.output
    assert pending_records(Genome.open(warehouse)) == []
    assert dump(warehouse / "warehouse.db") == EMPTY


def test_a_second_run_of_the_pathway_changes_nothing_and_scores_no_failure(warehouse: Path, csv_server: str) -> None:
    """Re-running on a database already in that state: ingest_csv replaces staging, and the caller's re-run is no allele's failure."""
    same = {"station": "station", "day": "day", "temperature": "temperature"}
    given = json.dumps({**json.loads(load(f"{csv_server}/readings.csv")), "mapping": same, "types": {"temperature": "REAL"}})
    sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", given)
    first = dump(warehouse / "warehouse.db")
    assert any(line.startswith('CREATE TABLE "readings"') and '"temperature" REAL' in line for line in first)
    result = sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", given)
    assert [s["status"] for s in json.loads(result.stdout)["pathway"]["steps"]] == ["ok"] * 5
    assert dump(warehouse / "warehouse.db") == first
    records = pending_records(Genome.open(warehouse))
    assert [r.ok for r in records if r.locus == "ingest_csv"] == [True] * 4  # two runs, each immediate and convergence
    assert [(r.locus, r.error) for r in records if not r.ok] == []


def test_a_failed_second_run_leaves_the_first_runs_tables(warehouse: Path, csv_server: str) -> None:
    """The second run's ingest_csv replaces staging, then transform_records fails: the database brings the first staging back."""
    sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", load(f"{csv_server}/readings.csv"))
    before = dump(warehouse / "warehouse.db")
    result = sg_in(warehouse, "run", "ingest_clean_and_load", "--kernel", "data-sqlite",
                   "--input", load(f"{csv_server}/readings_renamed.csv", columns=["station", "day"], required=[]), code=1)
    report = json.loads(result.stdout)["pathway"]
    assert [s["status"] for s in report["steps"]] == ["ok", "ok", "ok", "failed", "not_run"]
    assert report["steps"][0]["rolled_back"] is True and report["rollback_errors"] == []
    assert dump(warehouse / "warehouse.db") == before


def test_ingest_csv_replaces_a_table_of_that_name(warehouse: Path, csv_server: str) -> None:
    for name, columns in [("readings.csv", "station, day, temperature"), ("readings_renamed.csv", "station, day, temp_c")]:
        result = sg_in(warehouse, "run", "ingest_csv", "--kernel", "data-sqlite",
                       "--input", json.dumps({"url": f"{csv_server}/{name}", "table": "raw"}))
        assert ", ".join(json.loads(result.stdout)["output"]["columns"]) == columns
    conn = sqlite3.connect(warehouse / "warehouse.db")
    assert [r[1] for r in conn.execute('PRAGMA table_info("raw")')] == ["station", "day", "temp_c"]
    assert conn.execute('SELECT COUNT(*) FROM raw').fetchone() == (4,)
