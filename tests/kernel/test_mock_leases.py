"""The mock's DHCP leases follow the MAC, which is why mac_preserve matters."""

from __future__ import annotations

from sggit.kernel.mock import MockDescription, MockKernel, NicSpec


def host() -> MockKernel:
    nics = [NicSpec(name="eno1", mac="aa:bb:cc:dd:00:01"), NicSpec(name="eno2", mac="aa:bb:cc:dd:00:02")]
    return MockKernel(MockDescription(nics=nics, leases={"aa:bb:cc:dd:00:01": "192.0.2.10/24"}))


def test_the_nic_with_the_leased_mac_holds_the_address() -> None:
    k = host()
    assert k.list_addresses("eno1") == ["192.0.2.10/24"]
    assert k.list_addresses("eno2") == []
    assert k.default_gateway("eno1") == "192.0.2.1"


def test_the_lease_moves_to_a_bridge_only_with_the_mac() -> None:
    k = host()
    k.create_bridge("mgmt")
    k.add_port("mgmt", "eno1")
    k.set_link_up("mgmt")
    k.sleep(1)
    assert k.list_addresses("eno1") == []
    assert k.list_addresses("mgmt") == []
    assert k.default_gateway("mgmt") is None
    k.set_mac("mgmt", "aa:bb:cc:dd:00:01")
    assert k.list_addresses("mgmt") == ["192.0.2.10/24"]
    assert k.default_gateway("mgmt") == "192.0.2.1"
    assert k.probe("mgmt", "192.0.2.1", method="icmp")["reachable"] is True


def test_leases_survive_a_state_round_trip() -> None:
    k = host()
    again = MockKernel.from_json(k.to_json())
    assert again.list_addresses("eno1") == ["192.0.2.10/24"]
