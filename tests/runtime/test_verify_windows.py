"""A pathway's window opens at its final mutation: its checks watch alongside that step's own, and blame stays with the run.

Time is the mock's virtual clock: checks that watch side by side take as long as
the longest of them, as they do on a real kernel.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.fitness import Record
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.kernel.mock import MockKernel
from sggit.runtime.organism import Organism
from sggit.runtime.pathway import StepReport
from sggit.runtime.sandbox import WorkerPool
from sggit.runtime.verification import final_mutation
from tests.helpers import sg
from tests.runtime.helpers import organism

NO_STP = {"management_bridge": "mgmt", "uplink_interface": "eno1", "stp_enabled": False}

HEADER = """pathway {name}
  risk medium

  does:
    A pathway made for a test of verify windows.

  takes:
    bridge  string  "Bridge"
    uplink  string  "Uplink"
    mac     string  "MAC the bridge should carry"

  steps:
"""
CREATE = """    {n}. bridge_create
         bridge_name = {{bridge}}
         interfaces = []
         stp_enabled = false
"""
UPLINK = """    {n}. bridge_uplink
         bridge = {{bridge}}
         uplink = {{uplink}}
"""
MAC = """    {n}. mac_preserve
         bridge = {{bridge}}
         uplink = {{uplink}}
         dhcp_lease_mac = {{mac}}
"""
LINK = """    {n}. check_link_state
         device = {device}
"""
VERIFY = """
  verify:
    check_fdb_stability bridge={bridge}
    within 30s

  on failure:
    rollback completed steps
"""


def pathway(name: str, *steps: str, requires: str = "") -> str:
    body = "".join(step.format(n=i + 1, device="{bridge}") if "{device}" in step else step.format(n=i + 1) for i, step in enumerate(steps))
    return HEADER.format(name=name) + body + (f"\n  requires:\n{requires}" if requires else "") + VERIFY


def convergence_failures(genome: Genome, locus: str) -> list[Record]:
    return [r for r in pending_records(genome) if r.locus == locus and r.timescale == "convergence" and not r.ok]


def watching() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("verify-")]


def clock(project: Path) -> float:
    """The mock host's virtual time, as the last command left it."""
    return float(json.loads((project / ".git" / "sggit" / "mock-dell_r740.json").read_text())["clock"])


def test_the_window_opens_only_where_nothing_after_the_final_mutation_can_change_the_host(project: Path) -> None:
    pathways = project / "contracts" / "pathways"
    (pathways / "w_trailing_check.sg").write_text(pathway("w_trailing_check", CREATE, MAC, LINK))
    (pathways / "w_change_last.sg").write_text(pathway("w_change_last", CREATE, LINK, MAC))
    (pathways / "w_twice.sg").write_text(pathway("w_twice", MAC, CREATE, MAC))
    (pathways / "w_side_by_side.sg").write_text(pathway("w_side_by_side", CREATE, UPLINK, MAC, requires="    step 2 needs step 1\n    step 3 needs step 1\n"))
    (pathways / "w_nested.sg").write_text(pathway("w_nested", CREATE, "    {n}. -> w_trailing_check\n         bridge = {{bridge}}\n         uplink = {{uplink}}\n         mac = {{mac}}\n"))
    (pathways / "w_observes.sg").write_text(pathway("w_observes", LINK))
    tree = load_tree(project / "contracts")

    def opens_at(name: str) -> int | None:
        step = final_mutation(tree.pathways[name], tree.genes)
        return None if step is None else step.number

    assert opens_at("provision_management_bridge") == 3  # mac_preserve; step 4 only observes
    assert opens_at("w_trailing_check") == 2
    assert opens_at("w_change_last") == 3  # a read-only step before the final mutation is no obstacle
    assert opens_at("w_twice") is None  # the same locus twice: whose verify opened it would be ambiguous
    assert opens_at("w_side_by_side") is None  # step 3 may finish before step 2 changes the host
    assert opens_at("w_nested") is None  # what a nested pathway changes is not known before it runs
    assert opens_at("w_observes") is None  # nothing changes: the window waits for the run


def test_the_pathway_window_watches_alongside_the_final_steps_verify(project: Path, pool: WorkerPool) -> None:
    org, kernel = organism(project, pool)
    producers = {locus: org.phenotype().locus(locus).dominant for locus in ("bridge_create", "bridge_uplink", "mac_preserve")}
    result = org.run("provision_management_bridge", NO_STP)
    assert result.ok and result.verification is not None and result.verification["healthy"]
    # three checks of 10 s each; mac_preserve's check_mac_stability and the pathway's check_fdb_stability
    # watch the same final state side by side, so the run takes two of them
    assert kernel.now() == 2 * 10
    mac_checks = [a for a in result.trace if a.locus == "mac_preserve"]
    assert [a.convergence for a in mac_checks] == [True]
    # the window's verdict was charged once the run was over, to the steps that changed the host
    for locus, allele in producers.items():
        fed = [r for r in pending_records(org.genome) if r.locus == locus and r.timescale == "convergence" and "monitor_seconds" in r.input
               and r.input.get("bridge") == "mgmt"]
        assert [(r.allele, r.ok) for r in fed] == [(allele, True)], locus
    assert watching() == []


def test_a_failure_seen_in_the_window_is_charged_to_the_steps_that_changed_the_host(project: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (project / "contracts" / "pathways" / "rebadge.sg").write_text(pathway("rebadge", CREATE, MAC))
    monkeypatch.chdir(project)
    first = {"bridge": "mgmt", "uplink": "eno1", "mac": "aa:bb:cc:00:00:10"}
    sg("run", "rebadge", "--phenotype", "dell_r740", "--input", json.dumps(first))
    # every read of the forwarding database fails from now on: the pathway's check_fdb_stability is unhealthy
    sg("kernel", "inject", "netlink_error", "op=fdb", "count=1000", "--mock", ".git/sggit/mock-dell_r740.json")
    before = clock(project)
    # bridge_create finds mgmt and changes nothing; mac_preserve gives it another MAC (the final mutation)
    second = {**first, "mac": "aa:bb:cc:00:00:20"}
    out = json.loads(sg("run", "rebadge", "--phenotype", "dell_r740", "--format", "json", "--input", json.dumps(second)).output)
    assert out["ok"] and out["verify"]["status"] == "unhealthy"
    assert [c["locus"] for c in out["verify"]["checks"]] == ["check_fdb_stability"]
    # polled to the 30 s deadline, while mac_preserve's own 10 s check watched inside that time
    assert clock(project) - before == 30.0

    genome = Genome.open(project)
    seed = phenostore.read_phenotype(genome, "dell_r740").locus("mac_preserve").dominant
    own = [(r.allele, r.ok) for r in pending_records(genome) if r.locus == "mac_preserve" and r.timescale == "convergence"
           and r.input.get("dhcp_lease_mac") == second["mac"]]
    assert own == [(seed, True)]  # its own check_mac_stability passed: the step stands
    fed = [r for r in convergence_failures(genome, "mac_preserve") if "monitor_seconds" in r.input]
    assert [(r.allele, r.input["bridge"]) for r in fed] == [(seed, "mgmt")]
    assert convergence_failures(genome, "bridge_create") == []  # it changed nothing in this run


def broken_tail(project: Path, *, rollback: bool) -> None:
    # step 3 passes mac_preserve's `error` (null on success) as a device name: the step fails after the window opened
    text = pathway("broken_tail", CREATE, MAC, LINK).replace("device = {bridge}", "device = {step 2.error}")
    if not rollback:
        text = text.replace("  on failure:\n    rollback completed steps\n", "")
    (project / "contracts" / "pathways" / "broken_tail.sg").write_text(text)


TAIL = {"bridge": "mgmt", "uplink": "eno1", "mac": "aa:bb:cc:00:00:10"}


def failed_tail(project: Path, pool: WorkerPool, *, rollback: bool) -> tuple[Organism, MockKernel, list[StepReport]]:
    """broken_tail run once: step 3 fails after the window opened, so whatever the window saw is recorded
    nowhere and charges nobody, and no window is left watching."""
    broken_tail(project, rollback=rollback)
    org, kernel = organism(project, pool)
    result = org.run("broken_tail", TAIL)
    assert not result.ok and result.verification is None and result.pathway is not None
    assert [s.status for s in result.pathway.steps] == ["ok", "ok", "failed"]
    assert [r for r in pending_records(org.genome) if r.locus == "check_fdb_stability"] == []
    assert watching() == []
    return org, kernel, result.pathway.steps


def test_a_run_that_fails_after_the_window_opened_keeps_no_verdict(project: Path, pool: WorkerPool) -> None:
    _, kernel, _ = failed_tail(project, pool, rollback=False)
    assert "mgmt" in [link["name"] for link in kernel.list_links()]  # nothing asked for a rollback
    # the window watched the host (10 s, alongside mac_preserve's own check, and was waited for)
    assert kernel.now() == 10


def test_a_run_that_fails_after_the_window_opened_is_rolled_back_and_the_window_stopped(project: Path, pool: WorkerPool) -> None:
    org, kernel, steps = failed_tail(project, pool, rollback=True)
    assert all(s.rolled_back for s in steps[:2])
    # the window may have seen the bridge go away under it
    assert "mgmt" not in [link["name"] for link in kernel.list_links()]
    assert convergence_failures(org.genome, "mac_preserve") == []


MOVE_UPLINK = pathway("move_uplink", CREATE, UPLINK).replace('    mac     string  "MAC the bridge should carry"\n', "")


def test_a_window_opened_by_a_step_verify_that_failed_is_dropped_and_the_next_allele_opens_it_again(project: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (project / "contracts" / "pathways" / "move_uplink.sg").write_text(MOVE_UPLINK)
    monkeypatch.chdir(project)
    sg("run", "provision_management_bridge", "--phenotype", "dell_r740", "--input", json.dumps(NO_STP))
    sg("kernel", "inject", "reflecting_switch", "--mock", ".git/sggit/mock-dell_r740.json")
    genome = Genome.open(project)
    seed = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_uplink").dominant
    before = clock(project)
    # the seed moves the port, its own check_fdb_stability sees the MAC flap and it is undone; the
    # gratuitous-ARP repair (the fixture engine's) moves it again and converges
    raw = sg("run", "move_uplink", "--phenotype", "dell_r740", "--engine", "fixture", "--format", "json",
             "--input", json.dumps({"bridge": "mgmt", "uplink": "eno2"})).output
    out = json.loads(raw[raw.index("{"):])  # after the engine's note
    assert out["ok"] and out["verify"]["status"] == "healthy"
    pmap = phenostore.read_phenotype(genome, "dell_r740")
    repair = next(a for a in pmap.locus("bridge_uplink").stack if a != seed)
    own = [(r.allele, r.ok) for r in pending_records(genome) if r.locus == "bridge_uplink" and r.timescale == "convergence" and "monitor_seconds" not in r.input
           and r.input.get("uplink") == "eno2"]
    assert own == [(seed, False), (repair, True)]
    # the pathway's verdict judged the repair's change only: the seed's undone move is charged nothing by it
    fed = [(r.allele, r.ok) for r in pending_records(genome) if r.locus == "bridge_uplink" and r.timescale == "convergence" and "monitor_seconds" in r.input]
    assert fed[-1:] == [(repair, True)] and (seed, False) not in fed
    # the seed's verify polled the flapping to its 30 s deadline (0-10, 10.5-20.5, 21.5-31.5); the
    # repair's 1 s gratuitous ARP; then its own 10 s check with the pathway's alongside, not after
    assert clock(project) - before == 31.5 + 1 + 10
    assert watching() == []
