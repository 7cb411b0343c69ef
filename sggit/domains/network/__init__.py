"""The network domain (built in): hosts whose genes configure links, bridges, bonds and VLANs.

Everything sggit knows that is about networks rather than about genomes sits
here: the topology resource kinds and the pathways that make them, what makes two
kernels alike for fusion, the simulated host a phenotype's NIC bindings describe,
and the words prompts use for the genome and its gene_sdk.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sggit.contract.value_types import ValueType
from sggit.domains import Domain, kernel_rule
from sggit.domains.network.resources import RESOURCE_KINDS

SDK_SURFACE = """\
links: list_links(), get_link(name), set_link_up(name), set_link_down(name), set_mac(name, mac), set_mtu(name, mtu), delete_link(name)
bridges: create_bridge(name, stp=False), delete_bridge(name), add_port(bridge, port), remove_port(bridge, port), list_ports(bridge), set_stp(bridge, enabled, forward_delay=None, hello_time=None, max_age=None), get_stp(bridge)
bonds, VLANs: create_bond(name, mode, members, miimon=100, autoconnect=True), delete_bond(name), get_bond(name), create_vlan(parent, vlan_id, name=None)
addresses: add_address(dev, cidr), remove_address(dev, cidr), list_addresses(dev), default_gateway(dev=None), neighbours(dev=None), fdb(bridge)
traffic: send_gratuitous_arp(dev, ip=None), probe(source, target, method="arp"|"icmp"|"udp", timeout=1.0)
time: now(), sleep(seconds)
"""


def snapshot(kernel: Any) -> list[Any]:
    """Links (name, kind, master, MAC, up) and each bridge's ports: what two interchangeable genes leave alike."""
    links = kernel.list_links()
    ports = [[link["name"], [p["name"] for p in kernel.list_ports(link["name"])]] for link in links if link["kind"] == "bridge"]
    return [sorted((link["name"], link["kind"], link["master"], link["mac"], link["up"]) for link in links), ports]


def nic_names(bindings: Mapping[str, Any]) -> list[str]:
    """Every NIC name the phenotype's bindings list, in order, once."""
    names: list[str] = []
    for value in bindings.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item not in names:
                names.append(item)
    return names


def host(bindings: Mapping[str, Any]) -> Any:
    """A simulated host with the phenotype's NICs; its address is a DHCP lease on the first NIC's MAC,
    as on a freshly installed server."""
    from sggit.kernel.mock import MockDescription, NicSpec, default_description

    names = nic_names(bindings)
    if not names:
        return default_description()
    nics = [NicSpec(name=name, mac=f"aa:bb:cc:dd:00:{i + 1:02x}") for i, name in enumerate(names)]
    return MockDescription(nics=nics, leases={nics[0].mac: "192.0.2.10/24"})


def _probe_target(value: str) -> None:
    """An address the kernels probe, or `gateway`, which a gene resolves first (`gene_sdk.default_gateway`)."""
    if value != "gateway":
        from sggit.kernel.api import check_probe_target

        check_probe_target(value)


PROBES_AT_MOST = 20
"""Twenty one-second probes fit in the netlink kernel's default 30 s call timeout, with room for the rest."""


def _probe_count(value: int) -> str | None:
    """A count of probes one call can make: none proves nothing, and too many outlast the call's timeout.

    Not a kernel's rule (a probe is one at a time): the gene sends them, and an
    impossible count is the caller's mistake, refused before any allele is scored.
    """
    return None if 1 <= value <= PROBES_AT_MOST else f"a probe count must be from 1 to {PROBES_AT_MOST}, got {value}"


VALUE_TYPES = (
    ValueType(name="ifname", base="string", problem=kernel_rule("sggit.kernel.api:check_ifname"),
              description="a Linux interface name: 1 to 15 bytes, no NUL, '/', ':' or whitespace, not . or .."),
    ValueType(name="vlanid", base="int", problem=kernel_rule("sggit.kernel.api:check_vlan_id"),
              description="an 802.1Q VLAN ID, 1 to 4094"),
    ValueType(name="ifmac", base="string", problem=kernel_rule("sggit.kernel.api:normalise_mac"),
              description="a MAC address an interface may carry, aa:bb:cc:dd:ee:ff in any case, "
                          "not multicast, not all zero"),
    ValueType(name="macaddr", base="string", problem=kernel_rule("sggit.kernel.api:check_mac"),
              description="a MAC address, aa:bb:cc:dd:ee:ff in any case (multicast too, as in a forwarding entry)"),
    ValueType(name="probetarget", base="string", problem=kernel_rule(_probe_target),
              description="what gene_sdk.probe reaches: an IPv4 address, or gateway for the interface's default gateway"),
    ValueType(name="probecount", base="int", problem=_probe_count,
              description=f"a number of probes to send, 1 to {PROBES_AT_MOST}"),
    ValueType(name="probemethod", base="string", problem=kernel_rule("sggit.kernel.api:check_probe_method"),
              description="how gene_sdk.probe reaches its target: arp, icmp or udp"),
    ValueType(name="bondmode", base="string", problem=kernel_rule("sggit.kernel.api:check_bond_mode"),
              description="a Linux bonding mode: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, "
                          "balance-tlb or balance-alb"),
)


def domain() -> Domain:
    from sggit.shipped import shipped_root

    return Domain(
        name="network",
        description="host network configuration: links, bridges, bonds, VLANs, addresses",
        root=shipped_root(),
        kernel_kinds=("mock", "netlink"),
        resource_kinds=RESOURCE_KINDS,
        sdk_surface=SDK_SURFACE,
        prompt_subject="network-configuration genome",
        snapshot=snapshot,
        host=host,
        value_types=VALUE_TYPES,
    )
