"""Seed alleles against their contracts, on the mock kernel and in real namespaces."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sggit.contract.tree import load_tree
from sggit.contract.validate import Invalid, compile_validator
from sggit.genes import source_problems
from sggit.kernel.features import kernel_features
from sggit.kernel.local_sdk import bind_gene_sdk, load_gene
from sggit.kernel.mock import MockKernel, default_description
from sggit.kernel.netlink import NetlinkKernel
from sggit.kernel.undo import UndoLog
from sggit.runtime.conformance import prepare
from sggit.shipped import shipped_root

ROOT = shipped_root()
GARP = Path(__file__).resolve().parents[2] / "fixtures" / "alleles" / "bridge_uplink" / "garp.py"
TREE = load_tree(ROOT / "contracts")
Runner = Callable[[dict], dict]


def runner(kernel, locus: str, source: Path | None = None, log: UndoLog | None = None) -> Runner:
    """Run an allele as the orchestrator would: inputs and outputs checked against the contract."""
    gene = TREE.genes[locus]
    takes, gives = compile_validator(gene, "takes"), compile_validator(gene, "gives")
    path = source or ROOT / "genome" / locus / "seed.py"
    execute = load_gene(path.read_text(), bind_gene_sdk(kernel, log), str(path))

    def run(data: dict) -> dict:
        out = json.loads(execute(json.dumps(takes(data))))
        assert set(out) == {f.name for f in gene.gives}, f"{locus} gives {sorted(out)}"
        gives(out)
        return out

    return run


def test_every_gene_contract_has_a_clean_seed() -> None:
    seeds = {p.parent.name for p in (ROOT / "genome").glob("*/seed.py")}
    assert seeds == set(TREE.genes)
    for path in [*(ROOT / "genome").glob("*/seed.py"), GARP]:
        assert source_problems(path.read_text()) == [], path


# --- mock kernel -------------------------------------------------------------------


def _bridge_on(k: MockKernel, uplink: str = "eth0", stp: bool = False) -> None:
    out = runner(k, "bridge_create")({"bridge_name": "br0", "interfaces": [uplink], "stp_enabled": stp})
    assert out == {"success": True, "changed": True, "resources_created": ["br0"], "error": None}


def test_bridge_create_on_mock(mock: MockKernel) -> None:
    run = runner(mock, "bridge_create")
    assert run({"bridge_name": "br0", "interfaces": ["eth0", "eth1"]})["success"] is True
    assert [p["name"] for p in mock.list_ports("br0")] == ["eth0", "eth1"]
    assert mock.get_link("br0")["state"] == "up"
    assert run({"bridge_name": "br0", "interfaces": ["eth1", "eth0"]}) == {"success": True, "changed": False, "resources_created": [], "error": None}
    assert run({"bridge_name": "br0", "interfaces": ["eth1"]})["error"] == "bridge br0 already exists with other ports: eth0, eth1"
    assert run({"bridge_name": "br1", "interfaces": ["eth9"]})["error"] == "interface not found: eth9"
    assert "already enslaved to br0" in run({"bridge_name": "br1", "interfaces": ["eth0"]})["error"]


EXAMPLES = [(locus, ex) for locus, gene in sorted(TREE.genes.items()) for ex in gene.examples]


@pytest.mark.parametrize(("locus", "example"), EXAMPLES, ids=[f"{name}-{i}" for i, (name, _) in enumerate(EXAMPLES)])
def test_seeds_meet_the_contract_examples(mock: MockKernel, locus: str, example) -> None:
    example = prepare(example, mock)
    out = runner(mock, locus)(example.input)
    assert example.output.items() <= out.items()


def test_bridge_stp_on_mock(mock: MockKernel) -> None:
    _bridge_on(mock)
    run = runner(mock, "bridge_stp")
    assert run({"bridge": "br0", "enabled": True, "forward_delay": 4}) == {"success": True, "changed": True, "stp_enabled": True, "error": None}
    assert mock.get_stp("br0")["forward_delay"] == 4
    bad = run({"bridge": "br0", "enabled": True, "forward_delay": 1})
    assert bad["success"] is False and "forward_delay" in bad["error"]
    assert run({"bridge": "nope", "enabled": False})["success"] is False


def _flap_check(k: MockKernel) -> dict:
    return runner(k, "check_fdb_stability")({"bridge": "br0", "monitor_seconds": 10})


def test_naive_uplink_change_reproduces_mac_flapping(reflecting_mock: MockKernel) -> None:
    k = reflecting_mock
    _bridge_on(k, "eth0")
    k.sleep(5)
    out = runner(k, "bridge_uplink")({"bridge": "br0", "uplink": "eth1"})
    assert out == {"success": True, "changed": True, "previous_uplink": "eth0", "error": None}
    report = _flap_check(k)
    assert report["healthy"] is False
    [flap] = report["flapping_macs"]
    assert flap["mac"] == k.get_link("br0")["mac"]
    assert flap["ports"] == ["eth0", "eth1"]
    assert flap["transitions"] >= 5
    assert report["churn_rate"] > 0.1


@pytest.mark.parametrize("stp", [False, True])
def test_garp_allele_keeps_the_fdb_stable(reflecting_mock: MockKernel, stp: bool) -> None:
    k = reflecting_mock
    _bridge_on(k, "eth0", stp=stp)
    k.sleep(40)
    out = runner(k, "bridge_uplink", GARP)({"bridge": "br0", "uplink": "eth1"})
    assert out == {"success": True, "changed": True, "previous_uplink": "eth0", "error": None}
    report = _flap_check(k)
    assert report["healthy"] is True and report["flapping_macs"] == []
    assert runner(k, "check_connectivity")({"source_interface": "br0", "target": "192.0.2.1"})["healthy"] is True


@pytest.mark.parametrize("allele", ["naive", "garp"])
def test_the_paradigms_incident_a_bridge_carrying_its_old_uplinks_mac(reflecting_mock: MockKernel, allele: str) -> None:
    """mac_preserve gave br0 eth0's MAC: after the move, the paradigm's aa:bb:cc:dd:00:01 flaps between eth0 and eth1.

    The detached eth0, still up, would keep announcing that MAC from its old switch
    port, so a gratuitous ARP alone cannot settle the switch; the garp allele also
    sets a detached port that carries the bridge's MAC down.
    """
    k = reflecting_mock
    _bridge_on(k, "eth0", stp=True)
    assert runner(k, "mac_preserve")({"bridge": "br0", "uplink": "eth0"})["mac"] == "aa:bb:cc:dd:00:01"
    k.sleep(40)
    out = runner(k, "bridge_uplink", GARP if allele == "garp" else None)({"bridge": "br0", "uplink": "eth1"})
    assert out == {"success": True, "changed": True, "previous_uplink": "eth0", "error": None}
    k.sleep(30)  # STP: the new port forwards after twice the forward delay
    report = _flap_check(k)
    if allele == "naive":
        assert report["flapping_macs"][0]["mac"] == "aa:bb:cc:dd:00:01" and report["flapping_macs"][0]["ports"] == ["eth0", "eth1"]
        return
    assert report["healthy"] is True and report["flapping_macs"] == []
    assert k.get_link("eth0")["up"] is False and k.get_link("eth0")["master"] is None
    assert runner(k, "check_connectivity")({"source_interface": "br0", "target": "192.0.2.1"})["healthy"] is True
    k.sleep(600)  # the switch ages nothing back: the MAC stays on eth1
    assert _flap_check(k)["healthy"] is True


def test_bridge_uplink_failures_on_mock(mock: MockKernel) -> None:
    run = runner(mock, "bridge_uplink")
    assert run({"bridge": "br0", "uplink": "eth1"})["error"] == "bridge not found: br0"
    _bridge_on(mock)
    assert run({"bridge": "br0", "uplink": "eth9"})["error"] == "uplink interface not found: eth9"


@pytest.mark.parametrize(
    ("given", "source", "mac"),
    [
        ({"dhcp_lease_mac": "02:00:00:00:00:aa", "original_mac": "02:00:00:00:00:bb"}, "dhcp_lease", "02:00:00:00:00:aa"),
        ({"original_mac": "02:00:00:00:00:BB"}, "original", "02:00:00:00:00:bb"),
        ({}, "uplink", "aa:bb:cc:dd:00:01"),
    ],
)
def test_mac_preserve_prefers_lease_then_original_then_uplink(mock: MockKernel, given: dict, source: str, mac: str) -> None:
    _bridge_on(mock)
    out = runner(mock, "mac_preserve")({"bridge": "br0", "uplink": "eth0", **given})
    assert out == {"success": True, "changed": True, "mac": mac, "source": source, "error": None}
    assert mock.get_link("br0")["mac"] == mac
    stable = runner(mock, "check_mac_stability")({"bridge": "br0", "expected_mac": mac, "monitor_seconds": 3})
    assert stable == {"healthy": True, "mac": mac, "changes": 0}


def test_a_multicast_lease_mac_is_refused_by_the_contract_and_reported_by_the_seed(mock: MockKernel) -> None:
    _bridge_on(mock)
    lease = {"bridge": "br0", "uplink": "eth0", "dhcp_lease_mac": "01:00:5e:00:00:01"}
    with pytest.raises(Invalid, match="dhcp_lease_mac: 01:00:5e:00:00:01 is a multicast MAC"):
        runner(mock, "mac_preserve")(lease)  # ifmac: the orchestrator never hands it to an allele
    # A genome whose contract predates ifmac passes it on: the seed reports the kernel's refusal, it does not crash.
    path = ROOT / "genome" / "mac_preserve" / "seed.py"
    out = json.loads(load_gene(path.read_text(), bind_gene_sdk(mock, None), str(path))(json.dumps({**lease, "original_mac": None})))
    assert out["success"] is False and "multicast" in out["error"]


def test_bond_create_and_check_bond_state_on_mock(mock: MockKernel) -> None:
    out = runner(mock, "bond_create")({"bond_name": "bond0", "members": ["eth1", "eth2"]})
    assert out == {"success": True, "changed": True, "resources_created": ["bond0"], "error": None}
    check = runner(mock, "check_bond_state")
    assert check({"bond": "bond0"}) == {
        "healthy": True, "mode": "active-backup", "active_member": "eth1", "members_up": 2, "members_total": 2,
    }
    mock.inject("link_down", dev="eth1")
    degraded = check({"bond": "bond0"})
    assert degraded["healthy"] is False and degraded["active_member"] == "eth2" and degraded["members_up"] == 1
    assert check({"bond": "nope"})["healthy"] is False


def test_bond_create_without_bonding_reports_the_kernels_error() -> None:
    desc = default_description()
    desc.features = {"bond": False}
    out = runner(MockKernel(desc), "bond_create")({"bond_name": "bond0", "members": ["eth1"]})
    assert out == {"success": False, "changed": False, "resources_created": [], "error": "bond: link type not supported by this kernel"}


def test_vlan_create_and_tagging_on_mock(mock: MockKernel) -> None:
    out = runner(mock, "vlan_create")({"parent_interface": "eth0", "vlan_id": 100})
    assert out == {"success": True, "changed": True, "interface": "eth0.100", "error": None}
    check = runner(mock, "check_vlan_tagging")
    assert check({"interface": "eth0.100"}) == {"healthy": True, "vlan_id": 100, "parent": "eth0", "tagged": True}
    runner(mock, "vlan_create")({"parent_interface": "eth1", "vlan_id": 200, "name": "eth1.300"})
    assert check({"interface": "eth1.300"})["healthy"] is False  # tags 200, not what its name says
    assert check({"interface": "eth0"})["tagged"] is False
    assert runner(mock, "vlan_create")({"parent_interface": "eth9", "vlan_id": 5})["success"] is False


def test_check_connectivity_and_link_state_on_mock(mock: MockKernel) -> None:
    mock.add_address("eth0", "192.0.2.10/24")
    probe = runner(mock, "check_connectivity")
    single = mock.probe("eth0", "192.0.2.1", "icmp")["rtt_ms"]
    out = probe({"source_interface": "eth0", "method": "icmp"})
    assert out == {"healthy": True, "reachable": True, "loss": 0.0, "rtt_ms": pytest.approx(single)}
    mock.inject("link_down", dev="eth0")
    assert probe({"source_interface": "eth0"}) == {"healthy": False, "reachable": False, "loss": 1.0, "rtt_ms": None}
    link = runner(mock, "check_link_state")
    assert link({"device": "eth0"}) == {"healthy": True, "exists": True, "state": "down", "mtu": 1500, "mac": "aa:bb:cc:dd:00:01"}
    assert link({"device": "nope"})["state"] == "absent"


def test_seed_changes_roll_back(mock: MockKernel) -> None:
    before = mock.list_links()
    log = UndoLog()
    runner(mock, "bridge_create", log=log)({"bridge_name": "br0", "interfaces": ["eth0"]})
    runner(mock, "bridge_uplink", log=log)({"bridge": "br0", "uplink": "eth1"})
    runner(mock, "mac_preserve", log=log)({"bridge": "br0", "uplink": "eth1", "original_mac": "02:00:00:00:00:01"})
    assert log.rollback(mock) == []
    assert mock.list_links() == before


# --- netlink kernel ------------------------------------------------------------------


@pytest.fixture
def real(netns):
    with NetlinkKernel(netns.host) as k:
        yield k


@pytest.mark.netns
def test_bridge_seeds_in_a_namespace(real: NetlinkKernel, netns) -> None:
    out = runner(real, "bridge_create")({"bridge_name": "br0", "interfaces": ["eth0"]})
    assert out["success"] is True
    assert netns.link("eth0")["master"] == "br0"
    assert "UP" in netns.link("br0")["flags"]
    assert runner(real, "bridge_stp")({"bridge": "br0", "enabled": True, "forward_delay": 4})["stp_enabled"] is True
    assert netns.link("br0")["linkinfo"]["info_data"]["stp_state"] == 1
    assert runner(real, "bridge_stp")({"bridge": "br0", "enabled": False})["stp_enabled"] is False
    state = runner(real, "check_link_state")({"device": "br0"})
    assert state["exists"] and state["mac"] == netns.link("br0")["address"]


@pytest.mark.netns
@pytest.mark.parametrize("allele", ["naive", "garp"])
def test_uplink_alleles_against_a_real_upstream_switch(real: NetlinkKernel, netns, allele: str) -> None:
    """The naive seed leaves the switch pointing at the old port; the garp allele moves it."""
    runner(real, "bridge_create")({"bridge_name": "br0", "interfaces": ["eth0"]})
    mac = runner(real, "mac_preserve")({"bridge": "br0", "uplink": "eth0", "original_mac": "02:00:00:00:be:ef"})["mac"]
    real.add_address("br0", "10.77.0.2/24")
    assert runner(real, "check_connectivity")({"source_interface": "br0", "target": netns.gateway, "count": 1})["healthy"]

    def switch_ports() -> set[str]:
        entries = netns.bridge("fdb", "show", "br", "upstream", ns=netns.peer)
        return {e["ifname"] for e in entries if e["mac"] == mac}

    assert switch_ports() == {"sw0"}
    source = None if allele == "naive" else GARP
    out = runner(real, "bridge_uplink", source)({"bridge": "br0", "uplink": "eth1"})
    assert out == {"success": True, "changed": True, "previous_uplink": "eth0", "error": None}
    assert switch_ports() == ({"sw0"} if allele == "naive" else {"sw1"})
    stable = runner(real, "check_fdb_stability")({"bridge": "br0", "monitor_seconds": 1})
    assert stable["flapping_macs"] == []


@pytest.mark.netns
def test_diagnostic_seeds_in_a_namespace(real: NetlinkKernel, netns) -> None:
    real.add_address("eth0", "10.77.0.2/24")
    probe = runner(real, "check_connectivity")
    for method in ("arp", "icmp"):
        out = probe({"source_interface": "eth0", "target": netns.gateway, "method": method, "count": 2})
        assert out["healthy"] is True and out["loss"] == 0.0 and out["rtt_ms"] > 0
    lost = probe({"source_interface": "eth0", "target": "10.77.0.99", "count": 1})
    assert lost == {"healthy": False, "reachable": False, "loss": 1.0, "rtt_ms": None}
    assert probe({"source_interface": "eth0", "count": 1})["reachable"] is False  # no default route yet
    netns.ip("route", "add", "default", "via", netns.gateway)
    assert probe({"source_interface": "eth0", "count": 1})["reachable"] is True
    mac = netns.link("eth0")["address"]
    assert runner(real, "check_mac_stability")({"bridge": "eth0", "expected_mac": mac, "monitor_seconds": 1})["healthy"]


@pytest.mark.netns
@pytest.mark.parametrize(("locus", "feature", "data"), [
    ("bond_create", "bond", {"bond_name": "bond0", "members": ["eth1"]}),
    ("vlan_create", "vlan", {"parent_interface": "eth1", "vlan_id": 100}),
])
def test_bond_and_vlan_seeds_in_a_namespace(real: NetlinkKernel, netns, locus: str, feature: str, data: dict) -> None:
    out = runner(real, locus)(data)
    if kernel_features()[feature]:
        assert out["success"] is True
        check = "check_bond_state" if feature == "bond" else "check_vlan_tagging"
        arg = {"bond": "bond0"} if feature == "bond" else {"interface": "eth1.100"}
        assert runner(real, check)(arg)["healthy"] is True
    else:
        assert out["success"] is False
        assert out["error"] == f"{feature}: link type not supported by this kernel"
        assert netns.link("eth1").get("master") is None
