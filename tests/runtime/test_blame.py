"""A diagnostic's failure is charged to the producer whose change it judges, not to every producer it names."""

from __future__ import annotations

import json
from pathlib import Path

from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.fitness import Record
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.kernel.mock import MockKernel
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import WorkerPool
from sggit.runtime.session import mock_description
from tests.helpers import sg

BRIDGE = {"management_bridge": "mgmt", "uplink_interface": "eno1"}
FED = ("bridge_create", "bridge_uplink", "mac_preserve")  # check_fdb_stability feeds all three

MOVE_UPLINK = """pathway move_uplink
  risk medium

  does:
    Make sure a bridge exists, then give it another uplink; the bridge's
    forwarding database is checked afterwards.

  takes:
    bridge  string  "Bridge whose uplink moves"
    uplink  string  "Interface to become the uplink"

  steps:
    1. bridge_create
         bridge_name = {bridge}
         interfaces = []
         stp_enabled = true

    2. bridge_uplink
         bridge = {bridge}
         uplink = {uplink}

  requires:
    step 2 needs step 1

  verify:
    check_fdb_stability bridge={bridge}
    within 30s
"""


def failures(genome: Genome, locus: str) -> list[Record]:
    return [r for r in pending_records(genome) if r.locus == locus and r.timescale == "convergence" and not r.ok]


def dominants(genome: Genome) -> dict[str, str | None]:
    pmap = phenostore.read_phenotype(genome, "dell_r740")
    return {locus: pmap.locus(locus).dominant for locus in FED}


def test_a_genes_verify_charges_only_that_genes_change(project: Path, pool: WorkerPool) -> None:
    genome = Genome.open(project)
    kernel = MockKernel(mock_description(genome, "dell_r740"))
    org = Organism(genome, load_tree(project / "contracts"), "dell_r740", kernel, pool)
    assert org.run("provision_management_bridge", BRIDGE).ok  # every producer of mgmt is on record
    kernel.inject("reflecting_switch")
    org.trace.clear()

    moved = org.run("bridge_uplink", {"bridge": "mgmt", "uplink": "eno2"})

    seed = dominants(genome)["bridge_uplink"]
    assert not moved.ok and [a.kind for a in moved.trace if a.locus == "bridge_uplink"] == ["convergence"]
    assert [r.allele for r in failures(genome, "bridge_uplink")] == [seed]
    # the bridge and its MAC were there before the move and did not change: no blame for them
    assert failures(genome, "bridge_create") == [] and failures(genome, "mac_preserve") == []
    assert not any("failure for bridge_create" in e or "failure for mac_preserve" in e for e in moved.events)


def test_a_pathway_level_diagnostic_charges_only_the_steps_that_changed_the_host(project: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (project / "contracts" / "pathways" / "move_uplink.sg").write_text(MOVE_UPLINK)
    monkeypatch.chdir(project)
    sg("run", "provision_management_bridge", "--phenotype", "dell_r740", "--input", json.dumps(BRIDGE))
    sg("kernel", "inject", "reflecting_switch", "--mock", ".git/sggit/mock-dell_r740.json")
    # bridge_create finds mgmt and changes nothing; bridge_uplink moves the port; mac_preserve is not a step
    sg("run", "move_uplink", "--phenotype", "dell_r740", "--no-wait", "--input", json.dumps({"bridge": "mgmt", "uplink": "eno2"}))
    due = json.loads(sg("verify", "--due", "--phenotype", "dell_r740", "--json", code=1).output)["checks"]

    genome = Genome.open(project)
    producers = dominants(genome)
    assert ("move_uplink", "unhealthy") in [(c["target"], c["status"]) for c in due]
    pathway_fed = [r for r in failures(genome, "bridge_uplink") if "monitor_seconds" in r.input]
    assert [(r.allele, r.input["bridge"]) for r in pathway_fed] == [(producers["bridge_uplink"], "mgmt")]
    assert failures(genome, "bridge_create") == [] and failures(genome, "mac_preserve") == []
