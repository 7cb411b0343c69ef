"""The netlink kernel in throwaway namespaces, checked with `ip -j` and `bridge -j`."""

from __future__ import annotations

import time

import pytest

from sggit.kernel.api import KernelError
from sggit.kernel.dispatch import perform
from sggit.kernel.features import kernel_features
from sggit.kernel.netlink import NetlinkKernel
from sggit.kernel.undo import UndoLog

pytestmark = pytest.mark.netns


@pytest.fixture
def kernel(netns):
    with NetlinkKernel(netns.host) as k:
        yield k


def _wait(predicate, timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_missing_namespace_is_a_clear_error() -> None:
    with pytest.raises(KernelError, match="network namespace 'sgk-does-not-exist' does not exist"):
        NetlinkKernel("sgk-does-not-exist")


def test_links_match_ip(kernel: NetlinkKernel, netns) -> None:
    ours = {link["name"]: link for link in kernel.list_links()}
    theirs = {dev["ifname"]: dev for dev in netns.ip("link", "show")}
    assert set(ours) == set(theirs)
    for name, link in theirs.items():
        assert ours[name]["mac"] == link["address"]
        assert ours[name]["mtu"] == link["mtu"]
        assert ours[name]["up"] == ("UP" in link["flags"])
    assert ours["eth0"]["kind"] == "veth"


def test_link_settings_land_in_the_kernel(kernel: NetlinkKernel, netns) -> None:
    kernel.set_mac("eth1", "02:11:22:33:44:55")
    kernel.set_mtu("eth1", 1400)
    kernel.set_link_down("eth1")
    link = netns.link("eth1")
    assert (link["address"], link["mtu"], "UP" in link["flags"]) == ("02:11:22:33:44:55", 1400, False)


def test_bridge_ports_and_stp_land_in_the_kernel(kernel: NetlinkKernel, netns) -> None:
    kernel.create_bridge("br0", stp=False)
    kernel.add_port("br0", "eth0")
    kernel.set_link_up("br0")
    stp = kernel.set_stp("br0", True, forward_delay=4, hello_time=1, max_age=10)
    assert stp == {"enabled": True, "forward_delay": 4, "hello_time": 1, "max_age": 10}
    info = netns.link("br0")["linkinfo"]["info_data"]
    assert (info["stp_state"], info["forward_delay"], info["hello_time"], info["max_age"]) == (1, 400, 100, 1000)
    ports = {p["ifname"]: p for p in netns.bridge("link", "show")}
    assert ports["eth0"]["master"] == "br0"
    assert kernel.list_ports("br0")[0]["state"] == ports["eth0"]["state"]
    kernel.remove_port("br0", "eth0")
    assert "eth0" not in {p["ifname"] for p in netns.bridge("link", "show")}
    assert kernel.delete_bridge("br0") is True
    assert "br0" not in {dev["ifname"] for dev in netns.ip("link", "show")}


def test_port_errors_are_clear(kernel: NetlinkKernel) -> None:
    kernel.create_bridge("br0")
    kernel.create_bridge("br1")
    kernel.add_port("br0", "eth0")
    with pytest.raises(KernelError, match="eth0 is already a port of br0"):
        kernel.add_port("br1", "eth0")
    with pytest.raises(KernelError, match="eth1 is not a port of br0"):
        kernel.remove_port("br0", "eth1")
    with pytest.raises(KernelError, match="br0 already exists"):
        kernel.create_bridge("br0")
    with pytest.raises(KernelError, match="eth0 is a veth link and cannot be deleted"):
        kernel.delete_link("eth0")


def test_addresses_gateway_and_probes(kernel: NetlinkKernel, netns) -> None:
    kernel.add_address("eth0", "10.77.0.2/24")
    assert kernel.list_addresses("eth0") == ["10.77.0.2/24"]
    assert [a["local"] for a in netns.ip("addr", "show", "dev", "eth0")[0]["addr_info"] if a["family"] == "inet"] == ["10.77.0.2"]
    for method in ("arp", "icmp", "udp"):
        result = kernel.probe("eth0", netns.gateway, method, timeout=2.0)
        assert result["reachable"] is True, result
        assert result["rtt_ms"] > 0
    miss = kernel.probe("eth0", "10.77.0.99", "arp", timeout=0.3)
    assert miss["reachable"] is False and "no answer" in miss["error"]
    assert kernel.default_gateway() is None
    netns.ip("route", "add", "default", "via", netns.gateway)
    assert kernel.default_gateway("eth0") == netns.gateway
    gateway_mac = netns.link("upstream", ns=netns.peer)["address"]
    assert {"ip": netns.gateway, "mac": gateway_mac} in [{"ip": n["ip"], "mac": n["mac"]} for n in kernel.neighbours("eth0")]


def test_fdb_matches_bridge_command(kernel: NetlinkKernel, netns) -> None:
    kernel.create_bridge("br0")
    kernel.add_port("br0", "eth0")
    kernel.set_link_up("br0")
    kernel.add_address("br0", "10.77.0.2/24")
    assert kernel.probe("br0", netns.gateway, "icmp", timeout=2.0)["reachable"]
    gateway_mac = netns.link("upstream", ns=netns.peer)["address"]
    ours = {(e["mac"], e["port"]) for e in kernel.fdb("br0") if not e["local"]}
    theirs = {(e["mac"], e["ifname"]) for e in netns.bridge("fdb", "show", "br", "br0") if "permanent" not in e.get("state", "")}
    assert (gateway_mac, "eth0") in ours
    assert ours <= theirs


def test_gratuitous_arp_moves_the_upstream_switch_entry(kernel: NetlinkKernel, netns) -> None:
    """The paradigm's fix, for real: after an uplink change the switch learns the new port."""
    kernel.create_bridge("br0")
    kernel.set_mac("br0", "02:00:00:00:be:ef")
    kernel.add_port("br0", "eth0")
    kernel.set_link_up("br0")
    kernel.add_address("br0", "10.77.0.2/24")
    kernel.probe("br0", netns.gateway, "icmp", timeout=2.0)

    def switch_ports() -> set[str]:
        entries = netns.bridge("fdb", "show", "br", "upstream", ns=netns.peer)
        return {e["ifname"] for e in entries if e["mac"] == "02:00:00:00:be:ef"}

    assert _wait(lambda: switch_ports() == {"sw0"})
    kernel.remove_port("br0", "eth0")
    kernel.add_port("br0", "eth1")
    assert switch_ports() == {"sw0"}  # the switch still sends our MAC to the old port
    result = kernel.send_gratuitous_arp("br0")
    assert result == {"dev": "br0", "mac": "02:00:00:00:be:ef", "ip": "10.77.0.2", "sent": 1, "egress": ["eth1"]}
    assert _wait(lambda: switch_ports() == {"sw1"})


def test_rollback_restores_the_start(kernel: NetlinkKernel, netns) -> None:
    kernel.create_bridge("br0", stp=True)
    kernel.add_port("br0", "eth0")
    kernel.set_link_up("br0")
    kernel.add_address("br0", "10.77.0.2/24")

    def state() -> dict:
        out = {}
        for link in kernel.list_links():
            name = link["name"]
            entry = {k: link[k] for k in ("kind", "mac", "mtu", "up", "master")}
            entry["addresses"] = kernel.list_addresses(name)
            if link["kind"] == "bridge":
                entry["stp"] = kernel.get_stp(name)
                entry["ports"] = [p["name"] for p in kernel.list_ports(name)]
            out[name] = entry
        return out

    start = state()
    log = UndoLog()
    for op, args in [
        ("set_mtu", ["eth1", 1400]),
        ("set_mac", ["eth1", "02:00:00:00:00:42"]),
        ("set_link_down", ["eth1"]),
        ("set_stp", ["br0", False, 4, 1, 10]),
        ("remove_address", ["br0", "10.77.0.2/24"]),
        ("create_bridge", ["br1"]),
        ("add_port", ["br1", "eth1"]),
        ("delete_bridge", ["br0"]),
    ]:
        perform(kernel, op, args, {}, log)
    assert state() != start
    assert log.rollback(kernel) == []
    assert state() == start


def test_missing_link_types_raise_a_clear_error(kernel: NetlinkKernel) -> None:
    features = kernel_features()
    for kind, make in (
        ("bond", lambda: kernel.create_bond("bond0", "active-backup", ["eth1"])),
        ("vlan", lambda: kernel.create_vlan("eth1", 10)),
    ):
        if features[kind]:
            continue
        with pytest.raises(KernelError, match=f"^{kind}: link type not supported by this kernel$"):
            make()
        assert kernel.get_link("eth1")["master"] is None
    if features["bond"] and features["vlan"]:
        pytest.skip("this kernel has bonding and 802.1Q; the missing-type path cannot be exercised here")


def test_bond_when_the_kernel_has_bonding(kernel: NetlinkKernel, netns) -> None:
    if not kernel_features()["bond"]:
        pytest.skip("bonding: link type not supported by this kernel")
    kernel.create_bond("bond0", "active-backup", ["eth0", "eth1"], miimon=100)
    kernel.set_link_up("bond0")
    bond = kernel.get_bond("bond0")
    assert bond["mode"] == "active-backup" and sorted(m["name"] for m in bond["members"]) == ["eth0", "eth1"]
    assert netns.link("eth0")["master"] == "bond0"
    log = UndoLog()
    perform(kernel, "delete_bond", ["bond0"], {}, log)
    assert log.rollback(kernel) == []
    assert netns.link("eth1")["master"] == "bond0"


def test_vlan_when_the_kernel_has_8021q(kernel: NetlinkKernel, netns) -> None:
    if not kernel_features()["vlan"]:
        pytest.skip("802.1Q: link type not supported by this kernel")
    link = kernel.create_vlan("eth0", 100)
    assert (link["parent"], link["vlan_id"]) == ("eth0", 100)
    assert netns.link("eth0.100")["linkinfo"]["info_data"]["id"] == 100


def test_address_errors_are_clear(kernel: NetlinkKernel) -> None:
    kernel.add_address("eth1", "10.1.2.3/24")
    with pytest.raises(KernelError, match=r"add_address: 10.1.2.3/24 is already on eth1"):
        kernel.add_address("eth1", "10.1.2.3/24")
    with pytest.raises(KernelError, match=r"remove_address: 10.9.9.9/24 is not on eth1"):
        kernel.remove_address("eth1", "10.9.9.9/24")
    with pytest.raises(KernelError, match="no such interface: 'nope0'"):
        kernel.add_address("nope0", "10.1.2.3/24")
    with pytest.raises(KernelError, match="no such interface: 'nope0'"):
        kernel.set_mtu("nope0", 1400)


def test_both_kernels_answer_in_the_same_shapes(kernel: NetlinkKernel, netns) -> None:
    """A gene cannot tell the kernels apart by the keys of what they return."""
    from sggit.kernel.mock import MockKernel, default_description

    mock = MockKernel(default_description())
    answers = {}
    for k, gateway in ((mock, "192.0.2.1"), (kernel, netns.gateway)):
        net = gateway.rsplit(".", 1)[0]
        k.create_bridge("br0")
        k.add_port("br0", "eth0")
        k.set_link_up("br0")
        k.add_address("br0", f"{net}.2/24")
        answers[k] = {
            "link": k.get_link("br0"),
            "ports": k.list_ports("br0"),
            "stp": k.get_stp("br0"),
            "probe": k.probe("br0", gateway, "icmp", 2.0),
            "garp": k.send_gratuitous_arp("br0"),
            "fdb": k.fdb("br0"),
            "neighbours": k.neighbours("br0"),
        }

    def keys(value):
        if isinstance(value, dict):
            return {k: keys(v) for k, v in value.items()} if all(isinstance(v, (dict, list)) for v in value.values()) else sorted(value)
        if isinstance(value, list):
            return keys(value[0]) if value else []
        return type(value).__name__

    ours, theirs = answers[mock], answers[kernel]
    for what in ours:
        assert keys(ours[what]) == keys(theirs[what]), what
    assert ours["probe"]["reachable"] and theirs["probe"]["reachable"]
    assert ours["link"]["state"] == theirs["link"]["state"] == "up"
