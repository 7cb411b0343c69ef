"""Temporal fitness on the mock kernel: feeds reach the producer, due checks, watch, retroactive decay."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sggit.errors import UsageError
from sggit.genome import phenostore
from sggit.genome.alleles import allele_source
from sggit.genome.fitness import Record, fitness
from sggit.genome.repo import Genome
from sggit.genome.sync import live_counters, pending_records
from sggit.runtime.arena import failure_streaks
from sggit.runtime.sandbox import WorkerPool
from sggit.runtime.temporal import (
    CheckCall,
    DueCheck,
    ProducerIndex,
    parse_duration,
    pending_due,
    record_due,
    temporal_dir,
)
from tests.helpers import sg
from tests.runtime.helpers import add_allele, organism

A = "a" * 40
L = "bridge_create"
BRIDGE = {"management_bridge": "mgmt", "uplink_interface": "eno1"}


def scored(genome: Genome, locus: str, timescale: str) -> list[Record]:
    return [r for r in pending_records(genome) if r.locus == locus and r.timescale == timescale]


def rec(ok: bool, timescale: str = "immediate") -> Record:
    return Record(allele=A, locus=L, ok=ok, timescale=timescale)  # type: ignore[arg-type]


def test_a_convergence_failure_takes_back_its_invocations_success() -> None:
    never_converges = [rec(True), rec(False, "convergence")] * 3
    assert failure_streaks(never_converges).get(L, A, 0) == 3
    assert failure_streaks([rec(False), rec(False), rec(True), rec(False, "convergence")]).get(L, A, 0) == 3
    assert failure_streaks(never_converges + [rec(True), rec(True, "convergence")]).get(L, A, 0) == 0
    assert failure_streaks(never_converges + [rec(True)]).get(L, A, 0) == 0
    assert failure_streaks([rec(False)] * 2 + [rec(False, "resilience")] * 5).get(L, A, 0) == 2


def test_durations() -> None:
    assert [parse_duration(t) for t in ("30s", "5m", "1h", "500ms", "2", "1.5m")] == [30, 300, 3600, 0.5, 2, 90]
    for bad in ("", "5x", "-1s", "0s", "s"):
        with pytest.raises(UsageError):
            parse_duration(bad)


def test_the_producer_index_names_objects_by_their_inputs(genome: Genome) -> None:
    index = ProducerIndex(genome, "dell_r740")
    index.record("bridge_create", {"bridge_name": "br0", "interfaces": ["eno1"]}, A)
    index.record("bridge_uplink", {"bridge": "br0", "uplink": "eno2"}, "b" * 40)
    index.record("bridge_create", {"bridge_name": "br1", "interfaces": []}, "c" * 40)
    assert index.producer("bridge_create", ["br0"]) == A
    assert index.producer("bridge_uplink", ["br0"]) == "b" * 40
    assert index.producer("bridge_create", ["br1"]) == "c" * 40
    assert index.producer("bridge_create", ["eno1"]) is None
    assert ProducerIndex(genome, "supermicro_x11").producer("bridge_create", ["br0"]) is None


def test_a_later_unhealthy_diagnostic_demotes_the_producer_and_the_next_run_falls_back(project: Path, pool: WorkerPool) -> None:
    genome = Genome.open(project)
    seed = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").dominant
    assert seed is not None
    other = add_allele(genome, "bridge_create", allele_source(genome, seed).decode() + "\n# same behaviour, another allele\n")
    org, kernel = organism(project, pool)
    assert org.run("bridge_create", {"bridge_name": "br0", "interfaces": ["eno1"]}).ok
    kernel.set_link_down("br0")  # the state the allele produced does not hold
    for _ in range(3):
        result = org.run("check_link_state", {"device": "br0"})
        assert result.ok and result.output["healthy"] is False
    late = [r for r in scored(genome, "bridge_create", "convergence") if r.input == {"device": "br0"}]
    assert [(r.allele, r.ok) for r in late] == [(seed, False)] * 3
    counters = live_counters(genome)["bridge_create"][seed]
    assert (counters.total, counters.successes, counters.convergence_total - counters.convergence_ok) == (1, 1, 3)
    assert fitness(counters) < fitness(counters.model_copy(update={"convergence_ok": counters.convergence_total}))
    assert any(e.startswith("demoted bridge_create") for e in org.events)
    assert org.phenotype().locus("bridge_create").dominant == other
    org.trace.clear()
    assert org.run("bridge_create", {"bridge_name": "br1", "interfaces": []}).ok
    assert [a.allele for a in org.trace if a.locus == "bridge_create"] == [other]


def test_a_pathway_verify_runs_after_its_window_and_feeds_every_producer(project: Path, pool: WorkerPool) -> None:
    org, kernel = organism(project, pool)
    producers = {locus: org.phenotype().locus(locus).dominant for locus in ("bridge_create", "bridge_uplink", "mac_preserve")}
    result = org.run("provision_management_bridge", BRIDGE)
    assert result.ok and result.verification is not None
    assert result.verification["status"] == "healthy"
    assert [c["locus"] for c in result.verification["checks"]] == ["check_fdb_stability"]
    assert result.as_json()["verify"]["healthy"] is True
    # the pathway's check_fdb_stability (it takes monitor_seconds) scored all three producers
    for locus, allele in producers.items():
        fed = [r for r in scored(org.genome, locus, "convergence") if r.input.get("bridge") == "mgmt" and "monitor_seconds" in r.input]
        assert fed and all(r.allele == allele and r.ok for r in fed), locus
    # windows are deadlines: STP (on by default) settles the uplink port after 2 x 15 s, then each
    # check that monitors spends its own 10 s: fdb for the uplink, then MAC stability alongside the
    # pathway's fdb, whose window opens at the final mutation
    assert kernel.now() == 30 + 2 * 10


def test_no_wait_records_due_checks_and_verify_due_runs_them_once(project: Path, pool: WorkerPool) -> None:
    org, kernel = organism(project, pool, wait_verify=False)
    allele = org.phenotype().locus("bridge_create").dominant
    assert org.run("bridge_create", {"bridge_name": "br0", "interfaces": ["eno1"]}).ok
    assert scored(org.genome, "bridge_create", "convergence") == []
    [due] = pending_due(org.genome, "dell_r740")
    assert (due.target, due.allele, due.clock, due.due) == ("bridge_create", allele, "virtual", kernel.now() + 30)
    assert [(c.locus, c.input) for c in due.checks] == [("check_link_state", {"device": "br0"})]
    started = kernel.now()
    [report] = org.verify_due()
    assert report["status"] == "healthy" and kernel.now() >= started + 30
    assert [(r.allele, r.ok) for r in scored(org.genome, "bridge_create", "convergence")] == [(allele, True)]
    assert pending_due(org.genome) == [] and org.verify_due() == []


def test_due_checks_of_another_clock_wait_for_their_kernel(genome: Genome, project: Path, pool: WorkerPool) -> None:
    entry = DueCheck(phenotype="dell_r740", target="bridge_create", origin="gene", allele=A, checks=[CheckCall(locus="check_link_state", input={"device": "x"})], due=0.0, clock="wall")
    record_due(genome, entry)
    with open(temporal_dir(genome) / "due.jsonl", "ab") as torn:
        torn.write(b'{"phenotype": "dell_r740", "tar')  # a crash mid-append
    org, _ = organism(project, pool)
    assert [(r["id"], r["status"]) for r in org.verify_due()] == [(entry.id, "recorded on the netlink kernel")]
    assert [e.id for e in pending_due(genome)] == [entry.id]


def test_watch_scores_resilience_without_demoting(project: Path, pool: WorkerPool) -> None:
    org, kernel = organism(project, pool)
    assert org.run("provision_management_bridge", BRIDGE).ok
    producer = org.phenotype().locus("bridge_create").dominant
    healthy = org.watch("provision_management_bridge", 60, 1)
    assert [r["healthy"] for r in healthy] == [True]
    kernel.set_link_down("mgmt")
    started = kernel.now()
    rows = org.watch("provision_management_bridge", 120, 3)
    assert [r["healthy"] for r in rows] == [False] * 3
    assert kernel.now() >= started + 2 * 120
    late = [(r.allele, r.ok) for r in scored(org.genome, "bridge_create", "resilience")]
    assert late.count((producer, True)) >= 1 and late.count((producer, False)) >= 3
    assert not any(e.startswith("demoted") for e in org.events)
    with pytest.raises(UsageError, match="has not been deployed"):
        org.watch("provision_bond", 60, 1)


def test_cli_no_wait_then_verify_due(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    sg("run", "bridge_create", "--phenotype", "dell_r740", "--no-wait", "--input", json.dumps({"bridge_name": "br0", "interfaces": []}))
    assert len(pending_due(Genome.open(project))) == 1
    first = sg("verify", "--due", "--phenotype", "dell_r740", "--json")
    checks = json.loads(first.output)["checks"]
    assert [(c["target"], c["status"]) for c in checks] == [("bridge_create", "healthy")]
    again = sg("verify", "--due", "--phenotype", "dell_r740")
    assert "no verify checks are due" in again.output
    watched = sg("watch", "bridge_create", "--phenotype", "dell_r740", "--every", "10m", "--count", "2")
    assert watched.output.count("healthy") == 2 and "round 2 " in watched.output
    bad = sg("watch", "bridge_create", "--phenotype", "dell_r740", "--every", "soon", code=2)
    assert "not a duration" in bad.output and "Traceback" not in bad.output
    misspelt = sg("watch", "provision_management_bridg", "--phenotype", "dell_r740", code=2)
    assert "unknown locus or pathway provision_management_bridg" in misspelt.output
    assert "did you mean provision_management_bridge?" in misspelt.output and "not been deployed" not in misspelt.output
    assert os.path.exists(temporal_dir(Genome.open(project)) / "deployed-dell_r740.jsonl")


def test_watch_follows_the_latest_deployment_of_what_a_run_configured(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An uplink moved from eno1 to eno2 is watched as eno2: eno1, down on purpose now, is not held against it.

    The two runs share `check_fdb_stability bridge=br0`, so the later one is what
    br0 should look like; br1's run shares no check with them and stays watched.
    """
    monkeypatch.chdir(project)
    for bridge in ("br0", "br1"):
        sg("run", "bridge_create", "--phenotype", "dell_r740", "--input", json.dumps({"bridge_name": bridge, "interfaces": []}))
    for bridge, uplink in (("br0", "eno1"), ("br0", "eno2"), ("br1", "eno3")):
        sg("run", "bridge_uplink", "--phenotype", "dell_r740", "--input", json.dumps({"bridge": bridge, "uplink": uplink}))
    state = temporal_dir(Genome.open(project)).parent / "mock-dell_r740.json"
    sg("kernel", "call", "set_link_down", '["eno1"]', "--mock", str(state))
    watched = json.loads(sg("watch", "bridge_uplink", "--phenotype", "dell_r740", "--every", "1m", "--count", "1", "--json").output)
    rows = watched["rounds"] if isinstance(watched, dict) else watched
    assert sorted((r["input"]["bridge"], r["input"]["uplink"], r["healthy"]) for r in rows) == [("br0", "eno2", True), ("br1", "eno3", True)]
    sg("kernel", "call", "set_link_down", '["eno2"]', "--mock", str(state))
    down = sg("watch", "bridge_uplink", "--phenotype", "dell_r740", "--every", "1m", "--count", "1", code=1)
    assert "eno2" in down.output and "eno1" not in down.output


LOOPED = """pathway two_bridges
  risk low

  does:
    Bridges by name, each checked after the pathway.

  takes:
    names  string[]  "Bridge names"

  steps:
    1. for name in {names}:
         bridge_create
           bridge_name = {name}
           interfaces = []

  verify:
    for name in {names}:
      check_link_state device={name}
    within 10s
"""


@pytest.mark.parametrize("wait", [True, False])
def test_a_pathway_verify_for_block_expands_per_item(project: Path, pool: WorkerPool, wait: bool) -> None:
    (project / "contracts" / "pathways" / "two_bridges.sg").write_text(LOOPED)
    org, kernel = organism(project, pool, wait_verify=wait)
    producer = org.phenotype().locus("bridge_create").dominant
    result = org.run("two_bridges", {"names": ["br-a", "br-b"]})
    assert result.ok and result.verification is not None
    if wait:
        assert [c["input"] for c in result.verification["checks"]] == [{"device": "br-a"}, {"device": "br-b"}]
    else:
        assert result.verification["status"] == "due"
        [pathway_due] = [e for e in pending_due(org.genome) if e.origin == "pathway"]
        assert [c.input for c in pathway_due.checks] == [{"device": "br-a"}, {"device": "br-b"}]
        assert pathway_due.due == kernel.now() + 10
        assert sorted((r["target"], r["status"]) for r in org.verify_due()) == [("bridge_create", "healthy")] * 2 + [("two_bridges", "healthy")]
    fed = [(r.allele, r.input, r.ok) for r in scored(org.genome, "bridge_create", "convergence") if r.input in ({"device": "br-a"}, {"device": "br-b"})]
    # the pathway's checks feed the producer of each bridge (the genes' own verify judges them directly)
    assert sorted(fed, key=lambda x: x[1]["device"]) == [(producer, {"device": "br-a"}, True), (producer, {"device": "br-b"}, True)]


def test_a_nested_pathways_own_verify_block_runs(project, pool) -> None:  # type: ignore[no-untyped-def]
    from sggit.contract.tree import load_tree
    from sggit.genome.repo import Genome
    from sggit.kernel.mock import MockKernel
    from sggit.runtime.organism import Organism
    from sggit.runtime.session import mock_description

    genome = Genome.open(project)
    kernel = MockKernel(mock_description(genome, "dell_r740"))
    org = Organism(genome, load_tree(project / "contracts"), "dell_r740", kernel, pool)
    result = org.run("deploy_server_network", {"management_nic": "eno1", "storage_nics": ["eno2", "eno3"], "vm_vlans": [100]})
    assert result.ok, result.as_json()
    nested = [e for e in result.events if e.startswith("verify of nested pathway")]
    assert "verify of nested pathway provision_management_bridge: healthy" in nested
    assert any(a.locus == "check_fdb_stability" and a.ok for a in result.trace)


def test_watch_covers_diagnostics_in_loops_and_taken_branches(project: Path, pool: WorkerPool) -> None:
    from sggit.runtime.temporal import deployments

    org, _ = organism(project, pool)
    assert org.run("provision_management_bridge", BRIDGE).ok
    assert org.run("health_check_bridge", {"bridge": "mgmt"}).ok
    (deployed,) = deployments(org.genome, "dell_r740", "health_check_bridge")
    loci = [c.locus for c in deployed.checks]
    assert loci[:3] == ["check_link_state", "check_fdb_stability", "check_mac_stability"]
    assert "check_connectivity" not in loci  # the branch not taken is not watched
    rows = org.watch("health_check_bridge", 60, 1)
    assert [c["locus"] for c in rows[0]["checks"]][:3] == loci[:3]
