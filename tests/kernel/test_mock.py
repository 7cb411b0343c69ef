from __future__ import annotations

import pytest

from sggit.kernel.api import KernelError
from sggit.kernel.mock import HostSpec, MockDescription, MockKernel, NicSpec, default_description


def _uplinked(k: MockKernel, uplink: str = "eth0", stp: bool = False) -> None:
    k.create_bridge("br0", stp=stp)
    k.add_port("br0", uplink)
    k.set_link_up("br0")


def _learned(k: MockKernel, bridge: str = "br0") -> list[dict]:
    return [e for e in k.fdb(bridge) if not e["local"]]


def _ports_of(k: MockKernel, mac: str) -> set[str]:
    return {e["port"] for e in _learned(k) if e["mac"] == mac}


def test_description_builds_nics_with_their_macs() -> None:
    k = MockKernel.from_description({"nics": [{"name": "eno1", "mac": "AA:BB:CC:00:00:01", "carrier": False}]})
    link = k.get_link("eno1")
    assert (link["kind"], link["mac"], link["carrier"], link["state"]) == ("physical", "aa:bb:cc:00:00:01", False, "down")


def test_stp_ports_forward_only_after_twice_forward_delay(mock: MockKernel) -> None:
    mock.create_bridge("br0", stp=True)
    mock.set_stp("br0", True, forward_delay=4)
    mock.add_port("br0", "eth0")
    mock.set_link_up("br0")
    states = []
    for _ in range(5):
        states.append(mock.list_ports("br0")[0]["state"])
        mock.sleep(2)
    assert states == ["listening", "listening", "learning", "learning", "forwarding"]
    assert mock.get_link("br0")["state"] == "up"


def test_without_stp_ports_forward_at_once(mock: MockKernel) -> None:
    _uplinked(mock)
    assert mock.list_ports("br0") == [{"name": "eth0", "state": "forwarding"}]


def test_fdb_learns_the_gateway_and_ages_it_out(mock: MockKernel) -> None:
    _uplinked(mock)
    assert _ports_of(mock, "52:54:00:00:00:01") == {"eth0"}
    mock.set_link_down("eth0")
    mock.sleep(200)
    entry = [e for e in _learned(mock) if e["mac"] == "52:54:00:00:00:01"]
    assert entry and entry[0]["age"] == 200
    mock.sleep(101)
    assert _ports_of(mock, "52:54:00:00:00:01") == set()


def test_uplink_change_on_reflecting_switch_flaps_until_gratuitous_arp(reflecting_mock: MockKernel) -> None:
    k = reflecting_mock
    _uplinked(k, "eth0")
    mac = k.get_link("br0")["mac"]
    k.sleep(5)
    k.remove_port("br0", "eth0")
    k.add_port("br0", "eth1")
    seen = []
    for _ in range(4):
        current = min((e for e in _learned(k) if e["mac"] == mac), key=lambda e: e["age"])
        seen.append(current["port"])
        k.sleep(1)
    assert _ports_of(k, mac) == {"eth0", "eth1"}
    assert len(set(seen)) == 2 and seen[0] != seen[1]
    assert k.probe("br0", "192.0.2.1")["reachable"] is False
    garp = k.send_gratuitous_arp("br0")
    assert garp["egress"] == ["eth1"] and garp["sent"] == 1
    assert _ports_of(k, mac) == set()
    assert k.probe("br0", "192.0.2.1")["reachable"] is True


def test_flapping_stops_when_the_switch_entry_ages_out(reflecting_mock: MockKernel) -> None:
    k = reflecting_mock
    _uplinked(k, "eth0")
    k.remove_port("br0", "eth0")
    k.add_port("br0", "eth1")
    mac = k.get_link("br0")["mac"]
    k.sleep(299)
    assert _ports_of(k, mac) == {"eth0", "eth1"}
    k.sleep(2)
    assert _ports_of(k, mac) == set()


def test_a_normal_switch_moves_the_entry_without_flapping(mock: MockKernel) -> None:
    _uplinked(mock, "eth0")
    mock.remove_port("br0", "eth0")
    mock.add_port("br0", "eth1")
    assert _ports_of(mock, mock.get_link("br0")["mac"]) == set()
    assert mock.probe("br0", "192.0.2.1")["reachable"] is True


def test_gratuitous_arp_before_stp_forwarding_reaches_nobody(reflecting_mock: MockKernel) -> None:
    k = reflecting_mock
    _uplinked(k, "eth0", stp=True)
    k.sleep(31)
    k.remove_port("br0", "eth0")
    k.add_port("br0", "eth1")
    assert k.send_gratuitous_arp("br0")["sent"] == 0
    k.sleep(30)
    assert _ports_of(k, k.get_link("br0")["mac"]) == {"eth0", "eth1"}


def test_bond_fails_over_and_reports_members(mock: MockKernel) -> None:
    mock.create_bond("bond0", "active-backup", ["eth1", "eth2"])
    mock.set_link_up("bond0")
    assert mock.get_bond("bond0")["active_member"] == "eth1"
    mock.inject("link_down", dev="eth1")
    bond = mock.get_bond("bond0")
    assert bond["active_member"] == "eth2"
    assert bond["members_up"] == 1
    assert [m["active"] for m in bond["members"]] == [False, True]
    mock.inject("link_up", dev="eth1")
    assert mock.get_bond("bond0")["active_member"] == "eth2"


def test_bond_members_without_autoconnect_are_lost_on_reboot(mock: MockKernel) -> None:
    mock.create_bond("bond0", "active-backup", ["eth1"], autoconnect=False)
    mock.create_bond("bond1", "active-backup", ["eth2"], autoconnect=True)
    mock.reboot()
    assert mock.get_bond("bond0")["members"] == []
    assert [m["name"] for m in mock.get_bond("bond1")["members"]] == ["eth2"]


def test_bond_rejects_enslaved_members_and_bad_modes(mock: MockKernel) -> None:
    _uplinked(mock, "eth0")
    with pytest.raises(KernelError, match="already enslaved to br0"):
        mock.create_bond("bond0", "active-backup", ["eth0"])
    with pytest.raises(KernelError, match="unknown bonding mode"):
        mock.create_bond("bond0", "fastest", ["eth1"])


def test_vlan_traffic_reaches_only_hosts_on_that_vlan() -> None:
    desc = MockDescription(
        nics=[NicSpec(name="eth0", mac="aa:bb:cc:dd:00:01", vlans=[100])],
        hosts=[HostSpec(ip="10.100.0.1", mac="52:54:00:00:01:00", vlan=100),
               HostSpec(ip="10.200.0.1", mac="52:54:00:00:02:00", vlan=200)],
    )
    k = MockKernel(desc)
    k.create_vlan("eth0", 100)
    k.create_vlan("eth0", 200)
    for name in ("eth0.100", "eth0.200"):
        k.set_link_up(name)
    link = k.get_link("eth0.100")
    assert (link["kind"], link["parent"], link["vlan_id"]) == ("vlan", "eth0", 100)
    assert k.probe("eth0.100", "10.100.0.1")["reachable"] is True
    assert k.probe("eth0.100", "10.200.0.1")["reachable"] is False
    assert k.probe("eth0.200", "10.200.0.1")["reachable"] is False  # switch port does not trunk 200
    assert k.probe("eth0", "10.100.0.1")["reachable"] is False  # untagged never reaches VLAN 100


def test_missing_link_types_raise_the_kernels_words() -> None:
    desc = default_description()
    desc.features = {"bond": False, "vlan": False}
    k = MockKernel(desc)
    with pytest.raises(KernelError, match="^bond: link type not supported by this kernel$"):
        k.create_bond("bond0", "active-backup", ["eth1"])
    with pytest.raises(KernelError, match="^vlan: link type not supported by this kernel$"):
        k.create_vlan("eth0", 10)


def test_injected_netlink_error_hits_the_next_matching_call_once(mock: MockKernel) -> None:
    mock.inject("netlink_error", op="add_port", error="Device or resource busy")
    mock.create_bridge("br0")
    with pytest.raises(KernelError, match="add_port: netlink error: Device or resource busy"):
        mock.add_port("br0", "eth0")
    assert mock.add_port("br0", "eth0") == [{"name": "eth0", "state": "disabled"}]


def test_probe_failure_costs_its_timeout_on_the_virtual_clock(mock: MockKernel) -> None:
    start = mock.now()
    result = mock.probe("eth0", "192.0.2.99", "arp", timeout=2.0)
    assert result["reachable"] is False and "no answer" in result["error"]
    assert mock.now() == start + 2.0
    ok = mock.probe("eth0", "192.0.2.1", "arp")
    assert ok["reachable"] is True
    assert mock.neighbours("eth0") == []  # ARP probes go around the stack, as on the real kernel
    mock.add_address("eth0", "192.0.2.10/24")
    assert mock.probe("eth0", "192.0.2.1", "icmp")["reachable"] is True
    assert mock.neighbours("eth0") == [{"ip": "192.0.2.1", "mac": "52:54:00:00:00:01", "dev": "eth0", "state": "REACHABLE"}]
    mock.sleep(31)
    assert mock.neighbours()[0]["state"] == "STALE"


def test_icmp_needs_an_address_and_gateway_follows_addresses(mock: MockKernel) -> None:
    assert mock.probe("eth0", "192.0.2.1", "icmp")["error"] == "no IPv4 address on eth0"
    assert mock.default_gateway() is None
    mock.add_address("eth0", "192.0.2.10/24")
    assert mock.default_gateway("eth0") == "192.0.2.1"
    assert mock.probe("eth0", "192.0.2.1", "icmp")["reachable"] is True


def test_link_down_takes_the_path_away(mock: MockKernel) -> None:
    mock.inject("link_down", dev="eth0")
    result = mock.probe("eth0", "192.0.2.1")
    assert result["reachable"] is False and "no forwarding path" in result["error"]
    assert mock.get_link("eth0")["state"] == "down"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda k: k.set_mac("eth0", "01:00:5e:00:00:01"), "multicast"),
        (lambda k: k.set_mac("eth0", "nonsense"), "not a MAC"),
        (lambda k: k.set_mtu("eth0", 20), "MTU must be"),
        (lambda k: k.create_bridge("a-very-long-bridge-name"), "longer than 15"),
        (lambda k: k.create_vlan("eth0", 4095), "VLAN ID"),
        (lambda k: k.set_stp("nope", True), "no such interface"),
        (lambda k: k.add_address("eth0", "300.1.1.1/24"), "not an address"),
        (lambda k: k.sleep(-1), "sleep"),
    ],
)
def test_user_mistakes_read_clearly(mock: MockKernel, call, message: str) -> None:
    mock.create_bridge("br0")
    with pytest.raises(KernelError, match=message):
        call(mock)


def test_state_round_trips_through_json_and_keeps_flapping(reflecting_mock: MockKernel) -> None:
    k = reflecting_mock
    _uplinked(k, "eth0")
    k.remove_port("br0", "eth0")
    k.add_port("br0", "eth1")
    revived = MockKernel.from_json(k.to_json())
    assert revived.fdb("br0") == k.fdb("br0")
    mac = revived.get_link("br0")["mac"]
    assert {e["port"] for e in revived.fdb("br0") if e["mac"] == mac and not e["local"]} == {"eth0", "eth1"}


def test_runs_are_deterministic() -> None:
    def run() -> str:
        k = MockKernel(default_description(reflecting_switch=True))
        _uplinked(k, "eth0", stp=True)
        k.sleep(40)
        k.probe("br0", "192.0.2.1")
        k.remove_port("br0", "eth0")
        k.add_port("br0", "eth1")
        k.sleep(35)
        return k.to_json()

    assert run() == run()
