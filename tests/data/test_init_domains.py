"""`sggit init --domain`: a genome scaffolded from domains' shipped genomes, several at once."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import sg_in


def test_an_unknown_domain_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    result = sg_in(tmp_path, "init", str(tmp_path / "g"), "--domain", "nosuch", code=2)
    assert "no domain 'nosuch'; installed: network, data" in result.output
    assert not (tmp_path / "g").exists()


def test_a_genome_holds_two_domains_and_check_places_each_contract(tmp_path: Path) -> None:
    root = tmp_path / "g"
    sg_in(tmp_path, "init", str(root), "--domain", "network", "--domain", "data")
    assert (root / "contracts" / "genes" / "bridge_create.sg").is_file()
    assert (root / "contracts" / "data" / "genes" / "clean_records.sg").is_file()
    assert {p.name for p in (root / "phenotypes").glob("*.toml")} == {"dell_r740.toml", "supermicro_x11.toml", "warehouse.toml"}
    check = sg_in(root, "check", "--format", "json")
    placed = json.loads(check.stdout)["domains"]
    assert placed["bridge_create"] == "network" and placed["production_server"] == "network"
    assert placed["clean_records"] == "data" and placed["ingest_clean_and_load"] == "data"
    status = json.loads(sg_in(root, "status", "--format", "json", code=None).stdout)
    loci = {p["phenotype"]: {entry["locus"] for entry in p["loci"]} for p in status["phenotypes"]}
    assert loci["warehouse"] == {"ingest_csv", "validate_schema", "clean_records", "transform_records", "check_row_count", "check_nulls"}
    assert "bridge_create" in loci["dell_r740"] and "ingest_csv" not in loci["dell_r740"]
    again = sg_in(tmp_path, "init", str(root), "--domain", "network", "--domain", "data")
    assert "nothing changed" in again.output


def test_a_contract_declaring_an_uninstalled_domain_is_an_error(tmp_path: Path) -> None:
    from sggit.contract.tree import read_tree
    from sggit.domains.membership import domain_problems

    tree = read_tree([])
    tree.add_text('gene probe\n  is diagnostic\n  risk none\n\n  gives:\n    healthy  bool  "ok"\n', "contracts/probe.sg")
    gene = tree.genes["probe"]
    object.__setattr__(gene, "domain", "nosuch")  # the header form `gene probe for nosuch` sets this
    problems = domain_problems(tree)
    assert [p.message for p in problems] == ["probe is for domain nosuch, which is not installed"]
    assert (problems[0].line, problems[0].column) == (gene.line, gene.column)


def test_init_run_again_in_a_data_genome_copies_no_other_domain_in(tmp_path: Path) -> None:
    root = tmp_path / "g"
    sg_in(tmp_path, "init", str(root), "--domain", "data")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.parts)
    again = sg_in(root, "init")
    assert "already initialised; nothing changed" in again.output
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.parts) == files
    assert not (root / "contracts" / "genes" / "bridge_create.sg").exists()


def test_an_edited_binding_reaches_the_phenotype_branch_when_init_runs_again(tmp_path: Path) -> None:
    import subprocess

    root = tmp_path / "g"
    sg_in(tmp_path, "init", str(root), "--domain", "data")
    before = json.loads(sg_in(root, "plan", "warehouse", "--format", "json").stdout)["changes"][0]["invocation"]["inputs"]
    assert before["url"] == "https://fixtures.invalid/readings.csv"  # the topology's default
    toml = root / "phenotypes" / "warehouse.toml"
    toml.write_text(toml.read_text() + 'source = "http://127.0.0.1:8000/readings.csv"\n')

    assert "phenotype/warehouse follows phenotypes/warehouse.toml: bindings.source" in sg_in(root, "init").output
    after = json.loads(sg_in(root, "plan", "warehouse", "--format", "json").stdout)["changes"][0]["invocation"]["inputs"]
    assert after["url"] == "http://127.0.0.1:8000/readings.csv"
    log = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%s%n%b", "phenotype/warehouse"],
                         capture_output=True, text=True, check=True).stdout
    assert log.startswith("warehouse: follow its file: bindings.source") and "Sggit-Action: declare" in log
    assert "nothing changed" in sg_in(root, "init").output
