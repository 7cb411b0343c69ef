"""Planning and deploying topologies on the mock kernel, through a real organism."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from sggit.contract.tree import load_tree
from sggit.errors import UsageError
from sggit.genome.repo import Genome
from sggit.kernel.mock import MockDescription, MockKernel, NicSpec
from sggit.runtime import topology as t
from sggit.runtime.deadline import host_settled
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import WorkerPool
from tests.helpers import sg

LEASE = "192.0.2.10/24"

TINY = """topology tiny

  does:
    Two bridges, the second on a NIC this host does not have.

  has:
    first:
      is bridge
      uplink {nic.0}

    second:
      is bridge
      uplink nothere0

  takes:
    nic  string[1..]  "NICs"

  on failure:
    rollback all
    report what failed
"""


def host(**kwargs: Any) -> MockKernel:
    return MockKernel(MockDescription(nics=[NicSpec(name=f"eno{i}", mac=f"aa:bb:cc:dd:00:0{i}") for i in range(1, 5)], **kwargs))


def organism(project: Path, pool: WorkerPool, kernel: MockKernel) -> Organism:
    return Organism(Genome.open(project), load_tree(project / "contracts"), "dell_r740", kernel, pool, wait_verify=False)


def snapshot(kernel: MockKernel) -> list[dict]:
    links = kernel.list_links()
    return links + [{"ports": kernel.list_ports(link["name"])} for link in links if link["kind"] == "bridge"]


def with_dhcp(org: Organism, kernel: MockKernel):
    """The host's DHCP client gives the management bridge its lease once the bridge exists (outside sggit)."""

    def run(pathway: str, inputs: dict) -> Any:
        result = org.run_pathway(pathway, inputs)
        if pathway == "provision_management_bridge" and result.ok:
            kernel.add_address(inputs["management_bridge"], LEASE)
        return result

    return run


def deploy(org: Organism, kernel: MockKernel, run_pathway=None) -> t.DeployReport:
    plan = t.plan_on(org)
    topo = t.topology_of(org.tree, plan.topology)
    names = t.topology_names(topo, dict(org.phenotype().bindings))

    def check(locus: str, params: dict) -> tuple[bool, Any, str | None]:
        outcome = org.run_locus(locus, params, verify=False)
        return outcome.ok, outcome.output, outcome.error

    return t.deploy(plan, topo, names, run_pathway=run_pathway or with_dhcp(org, kernel), run_check=check, waiting=t.Wait(kernel, org.tentatively))


def test_the_planner_maps_resources_to_pathways_bound_from_the_phenotype(project: Path) -> None:
    tree = load_tree(project / "contracts")
    invocations = t.plan_invocations(tree, "production_server", {"nic": ["eno1", "eno2", "eno3", "eno4"]})
    by_key = {i.key: i for i in invocations}
    assert list(by_key) == ["management", "storage", "vm_traffic[100]", "vm_traffic[200]", "vm_traffic[300]"]
    assert by_key["management"].pathway == "provision_management_bridge"
    assert by_key["management"].inputs == {"management_bridge": "management", "uplink_interface": "eno1", "stp_enabled": True}
    assert by_key["storage"].inputs == {"bond_name": "storage", "members": ["eno2", "eno3"], "mode": "active-backup"}
    assert by_key["vm_traffic[200]"].inputs == {"parent_interface": "storage", "vlan_id": 200, "stp_enabled": False}
    assert by_key["vm_traffic[200]"].needs == ["storage"] and by_key["management"].needs == []


def test_bindings_that_do_not_satisfy_the_topology_are_the_users_mistake(project: Path) -> None:
    tree = load_tree(project / "contracts")
    with pytest.raises(UsageError, match="bindings do not satisfy"):
        t.plan_invocations(tree, "production_server", {"nic": ["eno1"]})
    with pytest.raises(UsageError, match="unknown topology"):
        t.plan_invocations(tree, "nope", {})


def test_planning_reads_the_kernel_and_changes_nothing(project: Path, pool: WorkerPool) -> None:
    kernel = host()
    org = organism(project, pool, kernel)
    kernel.create_bridge("management")
    before = snapshot(kernel)
    plan = t.plan_on(org)
    assert snapshot(kernel) == before
    actions = {c.invocation.key: (c.action, c.reason) for c in plan.changes}
    assert actions["management"] == ("change", "bridge management exists but eno1 is not its port")
    assert actions["storage"][0] == "create" and actions["vm_traffic[100]"][0] == "create"


def test_production_server_deploys_completely_then_a_second_deploy_changes_nothing(project: Path, pool: WorkerPool) -> None:
    kernel = host()
    org = organism(project, pool, kernel)
    first = deploy(org, kernel)
    assert first.status == "ok", first.failures()
    assert sorted(first.changed) == ["management", "storage", "vm_traffic[100]", "vm_traffic[200]", "vm_traffic[300]"]
    assert [c.status for c in first.checks] == ["healthy"] * 5
    assert [p["name"] for p in kernel.list_ports("management")] == ["eno1"]
    assert kernel.get_bond("storage")["mode"] == "active-backup"
    assert kernel.get_link("storage.300")["master"] == "vmbr300"

    before, attempts = snapshot(kernel), len(org.trace)
    assert {c.action for c in t.plan_on(org).changes} == {"unchanged"}
    second = deploy(org, kernel)
    assert second.status == "ok" and second.changed == []
    assert snapshot(kernel) == before
    assert {a.locus for a in org.trace[attempts:]} <= {"check_connectivity", "check_bond_state", "check_vlan_tagging"}


def test_independent_resources_deploy_concurrently(project: Path, pool: WorkerPool) -> None:
    kernel = host()
    org = organism(project, pool, kernel)
    both = threading.Barrier(2, timeout=10)
    inner = with_dhcp(org, kernel)

    def run(pathway: str, inputs: dict) -> Any:
        if pathway in ("provision_management_bridge", "provision_bond"):
            both.wait()  # breaks (and fails the test) unless the two run at the same time
        return inner(pathway, inputs)

    report = deploy(org, kernel, run)
    assert report.status == "ok", report.failures()


def test_an_unsupported_link_type_is_reported_and_what_needs_it_is_blocked(project: Path, pool: WorkerPool) -> None:
    kernel = host(features={"bond": False})
    org = organism(project, pool, kernel)
    plan = t.plan_on(org)
    assert {c.invocation.key: c.action for c in plan.changes} == {
        "management": "create", "storage": "unsupported",
        "vm_traffic[100]": "blocked", "vm_traffic[200]": "blocked", "vm_traffic[300]": "blocked",
    }
    report = deploy(org, kernel)
    assert report.status == "partial"  # production_server says: preserve what works
    assert report.changed == ["management"]
    assert "storage" not in [link["name"] for link in kernel.list_links()]
    skipped = [c for c in report.checks if c.status == "skipped"]
    assert len(skipped) == 4 and all("storage" in c.detail for c in skipped)
    assert any(f.startswith("storage: unsupported") for f in report.failures())


def test_rollback_all_undoes_what_deployed_when_another_resource_fails(project: Path, pool: WorkerPool) -> None:
    (project / "contracts" / "topologies" / "tiny.sg").write_text(TINY)
    kernel = host()
    org = organism(project, pool, kernel)
    before = snapshot(kernel)
    _, report = t.deploy_on(org, "tiny")
    statuses = {r.key: r.status for r in report.resources}
    assert statuses == {"first": "rolled_back", "second": "failed"}
    assert report.status == "failed" and "nothere0" in (report.resources[1].error or "")
    assert snapshot(kernel) == before


def test_cli_plan_then_deploy_twice(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    planned = sg("plan", "production_server", "--phenotype", "dell_r740", "--format", "json")
    assert {c["action"] for c in json.loads(planned.output)["changes"]} == {"create"}
    first = sg("deploy", "production_server", "--phenotype", "dell_r740", "--format", "json", code=None)
    report = json.loads(first.output)
    assert {r["status"] for r in report["resources"]} == {"created"}
    # the host's DHCP lease follows its MAC onto the management bridge (mac_preserve), so every check holds
    assert first.exit_code == 0 and report["status"] == "ok", first.output
    again = sg("deploy", "production_server", "--phenotype", "dell_r740", code=None)
    assert "created" not in again.output and again.output.count("unchanged") == 5
    missing = sg("plan", "nope", "--phenotype", "dell_r740", code=2)
    assert "unknown topology nope" in missing.output and "Traceback" not in missing.output


@pytest.mark.parametrize("resource, old, new, said", [
    ("storage", "      mode active-backup", "      mode bogus",
     "resource storage: provision_bond refuses its values: mode: unknown bonding mode 'bogus'"),
    ("vm_traffic", "      vlans [100, 200, 300]", "      vlans [100, 0, 99999]",
     "resource vm_traffic[0]: provision_vlan_bridge refuses its values: vlan_id: VLAN ID must be an integer from 1 to 4094, got 0"),
])
def test_a_resource_value_its_pathway_refuses_is_located_in_the_topology_before_any_gene_runs(
        project: Path, monkeypatch: pytest.MonkeyPatch, resource: str, old: str, new: str, said: str) -> None:
    monkeypatch.chdir(project)
    contract = project / "contracts" / "topologies" / "production_server.sg"
    text = contract.read_text()
    line = text.splitlines().index(f"    {resource}:") + 1
    contract.write_text(text.replace(old, new))
    checked = json.loads(sg("check", "--format", "json", code=1).output)["diagnostics"]
    located = [(d["path"], d["line"], d["column"]) for d in checked if said in d["message"]]
    assert located == [("contracts/topologies/production_server.sg", line, 5)] * 2, checked  # at the resource, once per phenotype, named from here
    for command in ("plan", "deploy"):
        refused = sg(command, "production_server", "--phenotype", "dell_r740", code=2).output
        assert f"{contract}:" in refused and said in refused
    assert not (project / ".git" / "sggit" / "fitness.journal").exists() or not (project / ".git" / "sggit" / "fitness.journal").read_text().strip()


def test_every_refused_resource_is_located_at_once_not_only_the_first(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    contract = project / "contracts" / "topologies" / "production_server.sg"
    text = contract.read_text()
    lines = text.splitlines()
    storage, vm = lines.index("    storage:") + 1, lines.index("    vm_traffic:") + 1
    contract.write_text(text.replace("      mode active-backup", "      mode bogus").replace("      vlans [100, 200, 300]", "      vlans [100, 0, 99999]"))
    checked = json.loads(sg("check", "--format", "json", code=1).output)["diagnostics"]
    refused = sorted({(d["line"], d["message"].split(":")[0]) for d in checked if "refuses its values" in d["message"]})
    assert refused == [(storage, "resource storage"), (vm, "resource vm_traffic[0]"), (vm, "resource vm_traffic[99999]")], checked
    for command in ("plan", "deploy"):
        said = sg(command, "production_server", "--phenotype", "dell_r740", code=2).output
        assert f"{contract}:{storage}:5: resource storage:" in said and f"{contract}:{vm}:5: resource vm_traffic[0]:" in said
        assert f"{contract}:{vm}:5: resource vm_traffic[99999]:" in said
        assert "fix resources storage, vm_traffic of topology production_server" in said


def test_bindings_that_give_one_nic_two_roles_are_refused_before_any_gene_runs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bridge uplink that is also a bond member would make the bond's allele fail, and be scored for it."""
    monkeypatch.chdir(project)
    contract = project / "contracts" / "topologies" / "production_server.sg"
    storage = contract.read_text().splitlines().index("    storage:") + 1
    phenotype = project / "phenotypes" / "dell_r740.toml"
    phenotype.write_text(phenotype.read_text().replace('"eno1", "eno2"', '"eno1", "eno1"'))
    said = "resource storage: eno1, its member, is already the uplink of resource management"
    [checked] = json.loads(sg("check", "--format", "json", code=1).output)["diagnostics"]
    assert (checked["path"], checked["line"], checked["column"]) == ("contracts/topologies/production_server.sg", storage, 5)
    assert checked["message"] == f"{said} (with the bindings of dell_r740.toml)", checked
    sg("init", ".")  # the phenotype's branch takes the edited bindings
    for command in ("plan", "deploy"):
        refused = sg(command, "production_server", "--phenotype", "dell_r740", code=2).output
        assert f"{contract}:{storage}:5: {said}" in refused and "fix resource storage of topology production_server" in refused
    journal = project / ".git" / "sggit" / "fitness.journal"
    assert not journal.exists() or not journal.read_text().strip()


@pytest.mark.parametrize("old, new, resource, said, phenotypes", [
    ("members [{nic.1}, {nic.2}]", "members [{nic.1}, {nic.1}]", "storage", "resource storage: eno2 is its member twice", 1),
    ("vlans [100, 200, 300]", "vlans [100, 200, 100]", "vm_traffic", "resource vm_traffic[100]: vmbr100 is made twice", 2),
    ("      mode active-backup", "      mode active-backup\n      name management", "storage",
     "resource storage: management, which it makes, is already made by resource management", 2),
])
def test_a_topology_whose_resources_fight_over_one_interface_is_located_at_the_second(
        project: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, resource: str, said: str, phenotypes: int) -> None:
    """Located once for each phenotype whose bindings make the clash (supermicro_x11 names its NICs eth*)."""
    monkeypatch.chdir(project)
    contract = project / "contracts" / "topologies" / "production_server.sg"
    text = contract.read_text()
    line = text.splitlines().index(f"    {resource}:") + 1
    assert old in text
    contract.write_text(text.replace(old, new))
    checked = json.loads(sg("check", "--format", "json", code=1).output)["diagnostics"]
    assert [(d["line"], d["column"]) for d in checked if said in d["message"]] == [(line, 5)] * phenotypes, checked
    refused = sg("deploy", "production_server", "--phenotype", "dell_r740", code=2).output
    assert f"{contract}:{line}:5: {said}" in refused, refused


def test_a_resource_the_bindings_cannot_fill_is_located_by_check_as_by_plan(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`{nic.9}` with four NICs bound: check passed it, and plan said so without a place."""
    monkeypatch.chdir(project)
    contract = project / "contracts" / "topologies" / "production_server.sg"
    management = contract.read_text().splitlines().index("    management:") + 1
    contract.write_text(contract.read_text().replace("uplink {nic.0}", "uplink {nic.9}"))
    said = "resource management: uplink: {nic.9}: index 9 is out of range (nic has 4 items)"
    checked = json.loads(sg("check", "--format", "json", code=1).output)["diagnostics"]
    assert [(d["line"], d["column"]) for d in checked if said in d["message"]] == [(management, 5)] * 2, checked
    for command in ("plan", "deploy"):
        refused = sg(command, "production_server", "--phenotype", "dell_r740", code=2).output
        assert f"{contract}:{management}:5: {said}" in refused, refused


@pytest.mark.parametrize("old, new, resource, said, count", [
    ("      uplink {nic.0}", "      uplink {nic.0}\n      name {nic.9}", "management",
     "resource management: name: {nic.9}: index 9 is out of range (nic has 4 items)", 2),
    ("  takes:\n", "    ring_a:\n      is vlan_bridges\n      trunk ring_b\n      vlans [400]\n\n"
     "    ring_b:\n      is vlan_bridges\n      trunk ring_a\n      vlans [500]\n\n  takes:\n", "ring_a",
     "resource ring_a: resources refer to each other in a cycle: ring_a[400], ring_b[500]", 2),
    ("uplink {nic.0}", "uplink {nope}", "management", "{nope} refers to nothing this contract takes or produced", 1),
])
def test_what_plan_cannot_plan_check_reports_once_at_the_resource(
        project: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, resource: str, said: str, count: int) -> None:
    """A name the bindings cannot fill, a cycle: at the resource, per phenotype; a contract's own error: once, where it is."""
    monkeypatch.chdir(project)
    contract = project / "contracts" / "topologies" / "production_server.sg"
    contract.write_text(contract.read_text().replace(old, new, 1))
    checked = json.loads(sg("check", "--format", "json", code=1).output)["diagnostics"]
    assert len(checked) == count and all(said in d["message"] for d in checked), checked
    if count == 2:
        line = contract.read_text().splitlines().index(f"    {resource}:") + 1
        assert {(d["line"], d["column"]) for d in checked} == {(line, 5)}
        assert f"{contract}:{line}:5: {said}" in sg("plan", "production_server", "--phenotype", "dell_r740", code=2).output


def test_a_bridge_whose_uplink_is_the_bond_of_another_resource_uses_it(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Taking what another run makes is no clash: the bond is made first, then bridged."""
    monkeypatch.chdir(project)
    contract = project / "contracts" / "topologies" / "production_server.sg"
    contract.write_text(contract.read_text().replace("uplink {nic.0}", "uplink storage"))
    assert not [d for d in json.loads(sg("check", "--format", "json").output)["diagnostics"] if d["severity"] == "error"]
    changes = json.loads(sg("plan", "production_server", "--phenotype", "dell_r740", "--format", "json").output)["changes"]
    order = [c["invocation"]["key"] for c in changes]
    assert order.index("storage") < order.index("management") and {c["action"] for c in changes} == {"create"}


def test_plan_tells_before_deploy_that_a_bridges_uplink_is_already_another_bridges_port(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README's session builds mgmt on eno1; production_server's management bridge wants eno1 too."""
    monkeypatch.chdir(project)
    sg("run", "provision_management_bridge", "--phenotype", "dell_r740",
       "--input", '{"management_bridge": "mgmt", "uplink_interface": "eno1"}')
    planned = sg("plan", "production_server", "--phenotype", "dell_r740", "--format", "json")
    management = next(c for c in json.loads(planned.output)["changes"] if c["invocation"]["key"] == "management")
    assert management["action"] == "change" and "eno1" in management["reason"] and "mgmt" in management["reason"]
    deployed = sg("deploy", "production_server", "--phenotype", "dell_r740", "--format", "json", code=1)
    result = next(r for r in json.loads(deployed.output)["resources"] if r["key"] == "management")
    assert result["status"] == "failed" and "mgmt" in result["error"]


def test_verify_is_one_shared_deadline_that_ends_when_the_checks_pass_and_expands_for_blocks(project: Path, pool: WorkerPool) -> None:
    kernel = host()
    org = organism(project, pool, kernel)
    plan = t.plan_on(org)
    topo = t.topology_of(org.tree, plan.topology)
    ran: list[tuple[str, dict]] = []

    def check(locus: str, params: dict) -> tuple[bool, Any, str | None]:
        ran.append((locus, params))
        outcome = org.run_locus(locus, params, verify=False)
        return outcome.ok, outcome.output, outcome.error

    names = t.topology_names(topo, dict(org.phenotype().bindings))
    finished: list[float] = []

    def run_pathway(pathway: str, inputs: dict) -> Any:
        result = with_dhcp(org, kernel)(pathway, inputs)
        finished.append(kernel.now())
        return result

    waiting = t.Wait(kernel, org.tentatively, settled=lambda: host_settled(kernel))
    report = t.deploy(plan, topo, names, run_pathway=run_pathway, run_check=check, waiting=waiting)
    assert [c.status for c in report.checks] == ["healthy"] * 5
    # the checks wait while the management bridge's STP ports listen and learn (2 x 15 s), polled
    # with backoff 0.5, 1, 2, 4, 5...: the host is seen settled at 32.5 s and one poll passes there
    assert max(finished) == 0.0 and kernel.now() == pytest.approx(32.5, abs=0.01)  # answered probes take their rtt
    assert [locus for locus, _ in ran].count("check_connectivity") == 1
    assert len([1 for locus, _ in ran if locus == "check_bond_state"]) == 1
    assert [p.get("interface") for locus, p in ran if locus == "check_vlan_tagging"] == ["storage.100", "storage.200", "storage.300"]
