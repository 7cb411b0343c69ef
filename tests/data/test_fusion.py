"""A data pathway fuses after consecutive successes, and a failing fused run is the database's rollback too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sggit.genome import phenostore
from sggit.genome.repo import Genome
from tests.data.conftest import dump
from tests.helpers import sg_in

PHENOTYPE = """\
name = "warehouse"
topology = "warehouse"

[bindings]
connection = "sqlite:///warehouse.db"
allow_hosts = ["127.0.0.1"]

[settings]
fusion_threshold = 2
"""


def test_a_fused_data_pathway_runs_and_its_failure_leaves_the_database_unchanged(tmp_path: Path, csv_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    root = tmp_path / "genome"
    (root / "phenotypes").mkdir(parents=True)
    (root / "phenotypes" / "warehouse.toml").write_text(PHENOTYPE, encoding="utf-8")
    sg_in(tmp_path, "init", str(root), "--domain", "data")

    def load(name: str, table: str, column: str) -> dict:
        result = sg_in(root, "run", "ingest_and_validate", "--kernel", "data-sqlite",
                       "--input", json.dumps({"url": f"{csv_server}/{name}", "table": table, "columns": [column]}), code=None)
        return {"code": result.exit_code, **json.loads(result.stdout)}

    assert load("readings.csv", "a", "station")["code"] == 0
    assert load("readings.csv", "b", "station")["code"] == 0
    entry = phenostore.read_phenotype(Genome.open(root), "warehouse").pathways["ingest_and_validate"]
    assert entry.state == "fused" and entry.fused_allele
    assert load("readings.csv", "c", "station")["code"] == 0
    before = dump(root / "warehouse.db")
    assert sum(line.startswith("CREATE TABLE") for line in before) == 3

    failed = load("readings_renamed.csv", "d", "temperature")
    assert failed["code"] == 1
    assert "lacks column(s) temperature" in failed["pathway"]["steps"][1]["error"]
    assert dump(root / "warehouse.db") == before
    assert phenostore.read_phenotype(Genome.open(root), "warehouse").pathways["ingest_and_validate"].state == "decomposed"
