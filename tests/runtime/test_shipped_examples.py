"""The shipped genome judges its own alleles: examples everywhere, host states, idempotent re-runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sggit.contract.errors import ContractError
from sggit.contract.fmt import format_document
from sggit.contract.parser import parse_text
from sggit.contract.tree import load_tree
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.shipped import shipped_root
from tests.helpers import sg_in
from tests.runtime.helpers import add_allele

TREE = load_tree(shipped_root() / "contracts")
CONFIGURATION = sorted(n for n, g in TREE.genes.items() if g.family == "configuration")
DIAGNOSTIC = sorted(n for n, g in TREE.genes.items() if g.family == "diagnostic")
MGMT = {"management_bridge": "mgmt", "uplink_interface": "eno1", "stp_enabled": False}


def test_every_shipped_gene_has_examples_and_diagnostics_show_both_verdicts() -> None:
    assert all(g.examples for g in TREE.genes.values()), [n for n, g in TREE.genes.items() if not g.examples]
    for name in DIAGNOSTIC:
        verdicts = {e.output.get("healthy") for e in TREE.genes[name].examples}
        assert verdicts == {True, False}, name


@pytest.mark.parametrize("name", CONFIGURATION)
def test_every_configuration_gene_shows_a_re_apply_that_changes_nothing(name: str) -> None:
    gene = TREE.genes[name]
    assert "changed" in {f.name for f in gene.gives}
    reapplied = [e for e in gene.examples if e.given and e.output.get("success") is True and e.output.get("changed") is False]
    assert reapplied, f"{name} has no example re-applying its input to a host already in that state"
    assert any(e.output.get("success") is False for e in gene.examples), f"{name} shows no failure"


@pytest.mark.parametrize("phenotype", ["dell_r740", "supermicro_x11"])
def test_sggit_test_passes_every_example_of_the_shipped_genome(project: Path, phenotype: str) -> None:
    rows = json.loads(sg_in(project, "test", "--phenotype", phenotype, "--format", "json").stdout)  # exit 0: no example fails
    assert {r["locus"] for r in rows} == set(TREE.genes)
    assert all(r["passed"] == r["total"] == len(TREE.genes[r["locus"]].examples) for r in rows)


def test_a_host_state_example_catches_an_allele_that_is_not_idempotent(project: Path) -> None:
    """The old bridge_create: 'bridge already exists' on a re-run is now a failed example."""
    strict = add_allele(Genome.open(project), "bridge_create", """
        import json
        import gene_sdk

        def execute(input_json):
            data = json.loads(input_json)
            if data["bridge_name"] in [link["name"] for link in gene_sdk.list_links()]:
                return json.dumps({"success": False, "changed": False, "resources_created": [], "error": "bridge already exists"})
            gene_sdk.create_bridge(data["bridge_name"])
            for nic in data["interfaces"]:
                gene_sdk.add_port(data["bridge_name"], nic)
            gene_sdk.set_link_up(data["bridge_name"])
            return json.dumps({"success": True, "changed": True, "resources_created": [data["bridge_name"]], "error": None})
        """)
    out = sg_in(project, "test", "bridge_create", "--phenotype", "dell_r740", "--format", "json", code=1).stdout
    row = next(r for r in json.loads(out) if r["allele"] == strict)
    assert {f["example"] for f in row["failures"]} >= {3, 4}
    assert "gene reported failure: bridge already exists" in row["failures"][0]["detail"]


def test_re_running_provision_management_bridge_succeeds_changes_nothing_and_scores_no_failure(project: Path) -> None:
    args = ("run", "provision_management_bridge", "--phenotype", "dell_r740", "--input", json.dumps(MGMT))
    first = json.loads(sg_in(project, *args).stdout)
    assert [s["output"]["changed"] for s in first["pathway"]["steps"][:3]] == [True, True, True]
    again = json.loads(sg_in(project, *args).stdout)
    assert again["pathway"]["status"] == "ok"
    assert [s["output"]["changed"] for s in again["pathway"]["steps"][:3]] == [False, False, False]
    failures = [r for r in pending_records(Genome.open(project)) if not r.ok]
    assert failures == []


def test_a_host_state_is_written_before_the_example_and_kept_by_the_formatter() -> None:
    text = (
        "gene g\n  is configuration\n  risk low\n\n  takes:\n    name  string  \"n\"\n\n  gives:\n    success  bool  \"s\"\n\n"
        "  examples:\n    - given [[\"create_bridge\", \"br0\", {\"stp\": true}]] {\"name\": \"br0\"} -> {\"success\": true}\n"
    )
    doc = parse_text(text, "g.sg")
    example = doc.definitions[0].examples[0]  # type: ignore[union-attr]
    assert example.given == [["create_bridge", "br0", {"stp": True}]] and example.input == {"name": "br0"}
    assert 'given [["create_bridge", "br0", {"stp": true}]] {"name": "br0"}' in format_document(doc)


def test_a_malformed_host_state_is_a_located_error() -> None:
    text = "gene g\n  is configuration\n  risk low\n\n  takes:\n    name  string  \"n\"\n\n  examples:\n    - given [[\"create_bridge\" {\"name\": \"x\"} -> {}\n"
    with pytest.raises(ContractError) as err:
        parse_text(text, "g.sg")
    assert "g.sg:9:" in str(err.value) and "host state is not JSON" in str(err.value)
    flat = text.replace('given [["create_bridge" ', 'given ["create_bridge"] ')
    with pytest.raises(ContractError) as err:
        parse_text(flat, "g.sg")
    assert "must be a list of calls" in str(err.value)
