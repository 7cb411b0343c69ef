"""An in-memory kernel on a virtual clock, with an upstream switch behind every NIC.

Deterministic by construction: time moves only through sleep() (and the timeout of
a failed probe), and nothing is random. What it models, and why:

- Bridge ports under STP do not forward until twice the forward delay has passed.
- The bridge FDB learns upstream hosts on forwarding ports and ages them out.
- One upstream switch learns the source MAC of every talking device on the NIC it
  leaves through, and ages entries (300 s). A reflecting switch does not move an
  entry when the MAC shows up on another port; it keeps the old one and reflects
  frames there, so after an uplink change the bridge sees its own MAC on the old
  and the new port (MAC flapping) until the old entry ages out or a gratuitous ARP
  from the bridge on the new uplink flushes it. This is the paradigm's incident.
- Bonds fail over to the next member with link; members without autoconnect are
  not enslaved again after reboot().
- VLAN interfaces tag traffic; a host on VLAN N answers only tagged-N frames on a
  switch port that trunks N.
- Failures can be injected: link_down/link_up (cable), reflecting_switch, and
  netlink_error (the next call of an operation fails).

Mock bridges keep a MAC of their own (derived from the name) rather than taking
the lowest port MAC, as bridges made by NetworkManager or systemd-networkd do, so
the bridge MAC only changes when someone sets it.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from sggit.kernel import api
from sggit.kernel.api import ArgumentError, Kernel, KernelError
from sggit.kernel.dispatch import kernel_lock

SWITCH_AGEING = 300.0
PROBE_RTT = 0.0002
NEIGHBOUR_REACHABLE = 30.0


class NicSpec(BaseModel):
    name: str
    mac: str
    carrier: bool = True
    up: bool = True
    mtu: int = 1500
    vlans: list[int] | None = None


class HostSpec(BaseModel):
    ip: str
    mac: str
    vlan: int | None = None


class MockDescription(BaseModel):
    """What the machine looks like: its NICs and what sits on the upstream switch."""

    nics: list[NicSpec]
    gateway: HostSpec | None = HostSpec(ip="192.0.2.1", mac="52:54:00:00:00:01")
    hosts: list[HostSpec] = Field(default_factory=list)
    reflecting_switch: bool = False
    features: dict[str, bool] = Field(default_factory=lambda: {"bond": True, "vlan": True})
    addresses: dict[str, list[str]] = Field(default_factory=dict)
    # The upstream DHCP server's leases: whichever interface presents the MAC, up and
    # with a path to the switch, holds the address (what mac_preserve is for).
    leases: dict[str, str] = Field(default_factory=dict)


class LinkState(BaseModel):
    name: str
    index: int
    kind: str
    mac: str
    mtu: int = 1500
    up: bool = False
    carrier: bool = True
    master: str | None = None
    # bridge
    stp: bool = False
    forward_delay: float = 15
    hello_time: float = 2
    max_age: float = 20
    ageing_time: float = 300
    port_since: dict[str, float] = Field(default_factory=dict)
    # bond
    mode: str | None = None
    miimon: int = 100
    autoconnect: bool = True
    members: list[str] = Field(default_factory=list)
    active: str | None = None
    # vlan
    parent: str | None = None
    vlan_id: int | None = None


class SwitchEntry(BaseModel):
    mac: str
    port: str
    vlan: int | None = None
    last_seen: float


class FdbEntry(BaseModel):
    bridge: str
    mac: str
    port: str
    last_seen: float


class Neighbour(BaseModel):
    ip: str
    mac: str
    dev: str
    confirmed: float


class PendingError(BaseModel):
    op: str | None = None
    count: int = 1
    error: str = "Device or resource busy"


class MockState(BaseModel):
    clock: float = 0.0
    next_index: int = 2
    links: dict[str, LinkState] = Field(default_factory=dict)
    addresses: dict[str, list[str]] = Field(default_factory=dict)
    leases: dict[str, str] = Field(default_factory=dict)
    neighbours: list[Neighbour] = Field(default_factory=list)
    switch: list[SwitchEntry] = Field(default_factory=list)
    bridge_fdb: list[FdbEntry] = Field(default_factory=list)
    reflecting_switch: bool = False
    errors: list[PendingError] = Field(default_factory=list)
    nics: dict[str, NicSpec] = Field(default_factory=dict)
    hosts: list[HostSpec] = Field(default_factory=list)
    gateway: HostSpec | None = None
    features: dict[str, bool] = Field(default_factory=dict)


F = TypeVar("F", bound=Callable[..., Any])


def _op(fn: F) -> F:
    """Every interface call: injected failures first, then the switch catches up."""
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(self: MockKernel, *args: Any, **kwargs: Any) -> Any:
        self._fail_if_injected(name)
        self._tick()
        result = fn(self, *args, **kwargs)
        self._tick()
        return result

    return wrapper  # type: ignore[return-value]


def _bridge_mac(name: str) -> str:
    digest = hashlib.sha256(name.encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def _cidr(cidr: object) -> str:
    try:
        return str(ipaddress.ip_interface(cidr))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise KernelError(f"not an address with prefix: {cidr!r} (expected e.g. 192.0.2.10/24)") from None


class MockKernel(Kernel):
    kernel_kind = "mock"

    def __init__(self, description: MockDescription | dict | None = None, *, state: MockState | None = None) -> None:
        self._lanes: dict[int, float] = {}
        if state is not None:
            self.state = state
            return
        if description is None:
            description = default_description()
        desc = MockDescription.model_validate(description)
        self.state = MockState(
            reflecting_switch=desc.reflecting_switch,
            hosts=list(desc.hosts),
            gateway=desc.gateway,
            features={"bond": True, "vlan": True, **desc.features},
            leases={api.normalise_mac(mac): _cidr(cidr) for mac, cidr in desc.leases.items()},
        )
        for nic in desc.nics:
            api.check_ifname(nic.name)
            if nic.name in self.state.links:
                raise KernelError(f"NIC {nic.name} is described twice")
            self.state.nics[nic.name] = nic
            self._new_link(nic.name, "physical", api.normalise_mac(nic.mac), mtu=nic.mtu, carrier=nic.carrier, up=nic.up)
        for dev, cidrs in desc.addresses.items():
            self._link(dev)
            self.state.addresses[dev] = [_cidr(c) for c in cidrs]

    @classmethod
    def from_description(cls, description: MockDescription | dict) -> MockKernel:
        return cls(description)

    # persistence -------------------------------------------------------------
    def to_json(self) -> str:
        return self.state.model_dump_json(indent=1)

    @classmethod
    def from_json(cls, text: str) -> MockKernel:
        return cls(state=MockState.model_validate_json(text))

    # failure injection (not part of gene_sdk) --------------------------------
    def inject(self, kind: str, **params: Any) -> None:
        """Make the world misbehave: link_down, link_up, reflecting_switch, netlink_error."""
        if kind in ("link_down", "link_up"):
            if "dev" not in params:
                raise ArgumentError(f"{kind} needs dev=<NIC>")
            nic = self._link(params["dev"])
            if nic.kind != "physical":
                raise ArgumentError(f"{kind}: {nic.name} is not a physical NIC")
            nic.carrier = kind == "link_up"
            self._restart_stp_for(nic.name)
        elif kind == "reflecting_switch":
            self.state.reflecting_switch = bool(params.get("enabled", True))
        elif kind == "netlink_error":
            try:
                self.state.errors.append(PendingError(**params))
            except ValueError as exc:
                raise ArgumentError(f"netlink_error takes op=, count=, error=: {str(exc).splitlines()[0]}") from None
        else:
            raise ArgumentError(f"unknown failure to inject: {kind!r}")
        self._tick()

    def clear_injections(self) -> None:
        self.state.errors.clear()
        self.state.reflecting_switch = False

    def reboot(self) -> None:
        """Bonds come back with only the members that autoconnect."""
        for bond in [link for link in self.state.links.values() if link.kind == "bond"]:
            if not bond.autoconnect:
                for member in bond.members:
                    self.state.links[member].master = None
                bond.members = []
                bond.active = None
        self._tick()

    # links -------------------------------------------------------------------
    @_op
    def list_links(self) -> list[dict]:
        return [self._describe(link) for link in sorted(self.state.links.values(), key=lambda link: link.index)]

    @_op
    def get_link(self, name: str) -> dict:
        return self._describe(self._link(name))

    @_op
    def set_link_up(self, name: str) -> dict:
        link = self._link(name)
        if not link.up:
            link.up = True
            self._restart_stp_for(name)
        return self._describe(link)

    @_op
    def set_link_down(self, name: str) -> dict:
        link = self._link(name)
        link.up = False
        return self._describe(link)

    @_op
    def set_mac(self, name: str, mac: str) -> dict:
        link = self._link(name)
        link.mac = api.normalise_mac(mac)
        return self._describe(link)

    @_op
    def set_mtu(self, name: str, mtu: int) -> dict:
        link = self._link(name)
        api.check_mtu(mtu)
        if link.kind == "vlan" and link.parent and mtu > self._link(link.parent).mtu:
            raise KernelError(f"set_mtu: {name} cannot exceed the MTU of its parent {link.parent}")
        link.mtu = mtu
        for child in self.state.links.values():
            if child.kind == "vlan" and child.parent == name and child.mtu > mtu:
                child.mtu = mtu  # as the kernel's vlan_device_event does
        return self._describe(link)

    @_op
    def delete_link(self, name: str) -> bool:
        link = self._link(name)
        if link.kind not in ("bridge", "bond", "vlan"):
            raise KernelError(f"delete_link: {name} is a {link.kind} link and cannot be deleted")
        self._remove(name)
        return True

    # bridges -----------------------------------------------------------------
    @_op
    def create_bridge(self, name: str, stp: bool = False) -> dict:
        self._absent(name)
        if not isinstance(stp, bool):
            raise KernelError(f"create_bridge: stp must be true or false, got {stp!r}")
        return self._describe(self._new_link(name, "bridge", _bridge_mac(name), stp=stp))

    @_op
    def delete_bridge(self, name: str) -> bool:
        self._bridge(name)
        self._remove(name)
        return True

    @_op
    def add_port(self, bridge: str, port: str) -> list[dict]:
        br = self._bridge(bridge)
        link = self._link(port)
        if link.kind == "bridge":
            raise KernelError(f"add_port: {port} is a bridge; a bridge cannot be a port of another bridge")
        if link.master is not None:
            raise KernelError(f"add_port: {port} is already a port of {link.master}")
        lower = link
        while lower.kind == "vlan" and lower.parent:
            if lower.parent == bridge:
                raise KernelError(f"add_port: {port} sits on {bridge}; making it a port would be a loop")
            lower = self.state.links[lower.parent]
        link.master = bridge
        br.port_since[port] = self.state.clock
        return self._ports(br)

    @_op
    def remove_port(self, bridge: str, port: str) -> list[dict]:
        br = self._bridge(bridge)
        link = self._link(port)
        if link.master != bridge:
            raise KernelError(f"remove_port: {port} is not a port of {bridge}")
        self._release(br, port)
        return self._ports(br)

    @_op
    def list_ports(self, bridge: str) -> list[dict]:
        return self._ports(self._bridge(bridge))

    @_op
    def set_stp(
        self,
        bridge: str,
        enabled: bool,
        forward_delay: float | None = None,
        hello_time: float | None = None,
        max_age: float | None = None,
    ) -> dict:
        br = self._bridge(bridge)
        if not isinstance(enabled, bool):
            raise KernelError(f"set_stp: enabled must be true or false, got {enabled!r}")
        api.check_stp_timers(forward_delay, hello_time, max_age)
        if forward_delay is not None:
            br.forward_delay = forward_delay
        if hello_time is not None:
            br.hello_time = hello_time
        if max_age is not None:
            br.max_age = max_age
        if enabled and not br.stp:
            br.port_since = {p: self.state.clock for p in br.port_since}
        br.stp = enabled
        return self._stp(br)

    @_op
    def get_stp(self, bridge: str) -> dict:
        return self._stp(self._bridge(bridge))

    # bonds and VLANs ---------------------------------------------------------
    @_op
    def create_bond(
        self, name: str, mode: str, members: list[str], miimon: int = 100, autoconnect: bool = True
    ) -> dict:
        self._feature("bond")
        self._absent(name)
        api.check_bond_mode(mode)
        if isinstance(miimon, bool) or not isinstance(miimon, int) or miimon < 0:
            raise KernelError(f"create_bond: miimon must be a non-negative integer, got {miimon!r}")
        if not isinstance(members, list) or not members:
            raise KernelError("create_bond: members must be a non-empty list of interface names")
        if len(set(members)) != len(members):
            raise KernelError("create_bond: a member is listed twice")
        links = [self._link(m) for m in members]
        for link in links:
            if link.kind != "physical":
                raise KernelError(f"create_bond: {link.name} is a {link.kind} link, not a NIC")
            if link.master is not None:
                raise KernelError(f"create_bond: {link.name} is already enslaved to {link.master}")
        bond = self._new_link(name, "bond", links[0].mac, mtu=links[0].mtu)
        bond.mode, bond.miimon, bond.autoconnect, bond.members = mode, miimon, bool(autoconnect), list(members)
        for link in links:
            link.master = name
            link.up = True
        return self._describe(bond)

    @_op
    def delete_bond(self, name: str) -> bool:
        if self._link(name).kind != "bond":
            raise KernelError(f"delete_bond: {name} is not a bond")
        self._remove(name)
        return True

    @_op
    def get_bond(self, name: str) -> dict:
        bond = self._link(name)
        if bond.kind != "bond":
            raise KernelError(f"get_bond: {name} is not a bond")
        active = self._active_member(bond)
        members = [
            {"name": m, "up": self._member_up(m), "active": m == active or (bond.mode != "active-backup" and self._member_up(m))}
            for m in bond.members
        ]
        return {
            "name": name,
            "mode": bond.mode,
            "miimon": bond.miimon,
            "autoconnect": bond.autoconnect,
            "up": bond.up,
            "members": members,
            "active_member": active,
            "members_up": sum(1 for m in members if m["up"]),
        }

    @_op
    def create_vlan(self, parent: str, vlan_id: int, name: str | None = None) -> dict:
        self._feature("vlan")
        api.check_vlan_id(vlan_id)
        par = self._link(parent)
        name = name if name is not None else f"{parent}.{vlan_id}"
        self._absent(name)
        for link in self.state.links.values():
            if link.kind == "vlan" and link.parent == parent and link.vlan_id == vlan_id:
                raise KernelError(f"create_vlan: {link.name} already tags VLAN {vlan_id} on {parent}")
        vlan = self._new_link(name, "vlan", par.mac, mtu=par.mtu)
        vlan.parent, vlan.vlan_id = parent, vlan_id
        return self._describe(vlan)

    # addresses and neighbours ------------------------------------------------
    @_op
    def add_address(self, dev: str, cidr: str) -> list[str]:
        self._link(dev)
        addr = _cidr(cidr)
        present = self.state.addresses.setdefault(dev, [])
        if addr in present:
            raise KernelError(f"add_address: {addr} is already on {dev}")
        present.append(addr)
        return list(present)

    @_op
    def remove_address(self, dev: str, cidr: str) -> list[str]:
        self._link(dev)
        addr = _cidr(cidr)
        present = self.state.addresses.get(dev, [])
        if addr not in present:
            raise KernelError(f"remove_address: {addr} is not on {dev}")
        present.remove(addr)
        return list(present)

    @_op
    def _addrs(self, dev: str) -> list[str]:
        """Configured addresses, plus a DHCP lease held by this interface's MAC when it can reach the switch."""
        present = list(self.state.addresses.get(dev, []))
        link = self.state.links.get(dev)
        lease = self.state.leases.get(link.mac) if link is not None else None
        if lease is not None and lease not in present and self._egress(dev):
            present.append(lease)
        return present

    def list_addresses(self, dev: str) -> list[str]:
        self._link(dev)
        return self._addrs(dev)

    @_op
    def default_gateway(self, dev: str | None = None) -> str | None:
        gw = self.state.gateway
        if gw is None:
            return None
        devs = [dev] if dev is not None else sorted(self.state.links)
        if dev is not None:
            self._link(dev)
        gw_ip = ipaddress.ip_address(gw.ip)
        for d in devs:
            for cidr in self._addrs(d):
                if gw_ip in ipaddress.ip_interface(cidr).network:
                    return gw.ip
        return None

    @_op
    def neighbours(self, dev: str | None = None) -> list[dict]:
        if dev is not None:
            self._link(dev)
        now = self.state.clock
        return [
            {
                "ip": n.ip,
                "mac": n.mac,
                "dev": n.dev,
                "state": "REACHABLE" if now - n.confirmed < NEIGHBOUR_REACHABLE else "STALE",
            }
            for n in self.state.neighbours
            if dev is None or n.dev == dev
        ]

    @_op
    def fdb(self, bridge: str) -> list[dict]:
        br = self._bridge(bridge)
        now = self.state.clock
        out = [{"mac": br.mac, "port": bridge, "local": True, "age": None}]
        for port in sorted(br.port_since):
            out.append({"mac": self._link(port).mac, "port": port, "local": True, "age": None})
        for e in self.state.bridge_fdb:
            if e.bridge == bridge:
                out.append({"mac": e.mac, "port": e.port, "local": False, "age": round(now - e.last_seen, 3)})
        out += self._flapping_entries(br)
        return out

    # traffic -----------------------------------------------------------------
    @_op
    def send_gratuitous_arp(self, dev: str, ip: str | None = None) -> dict:
        link = self._link(dev)
        if not link.up:
            raise KernelError(f"send_gratuitous_arp: {dev} is down")
        if ip is None:
            v4 = [a for a in self._addrs(dev) if ipaddress.ip_interface(a).version == 4]
            ip = str(ipaddress.ip_interface(v4[0]).ip) if v4 else "0.0.0.0"
        else:
            try:
                ip = str(ipaddress.IPv4Address(ip))
            except ValueError:
                raise KernelError(f"send_gratuitous_arp: not an IPv4 address: {ip!r}") from None
        egress = self._egress(dev)
        for nic, vlan in egress:
            self._switch_learn(link.mac, nic, vlan, announce=True)
        return {"dev": dev, "mac": link.mac, "ip": ip, "sent": len(egress), "egress": [n for n, _ in egress]}

    @_op
    def probe(self, source: str, target: str, method: str = "arp", timeout: float = 1.0) -> dict:
        link = self._link(source)
        api.check_probe(method, timeout, target)
        result: dict[str, Any] = {"reachable": False, "rtt_ms": None, "method": method, "source": source, "target": target, "error": None}

        def lost(reason: str) -> dict:
            self.state.clock += timeout
            result["error"] = reason
            return result

        v4 = [a for a in self._addrs(source) if ipaddress.ip_interface(a).version == 4]
        if method != "arp" and not v4:
            return lost(f"no IPv4 address on {source}")
        egress = self._egress(source)
        if not egress:
            return lost(f"no forwarding path out of {source}")
        stale = self._stale_ports(link.mac, [n for n, _ in egress])
        if stale:
            return lost(f"replies for {link.mac} go to the old port {stale[0]} (MAC flapping)")
        for nic, vlan in egress:
            allowed = self.state.nics[nic].vlans
            if vlan is not None and allowed is not None and vlan not in allowed:
                continue
            for host in self._hosts():
                if host.ip == target and host.vlan == vlan:
                    self.state.clock += PROBE_RTT
                    if method != "arp":  # a raw ARP probe bypasses the stack and teaches it nothing
                        self.state.neighbours = [n for n in self.state.neighbours if not (n.ip == target and n.dev == source)]
                        self.state.neighbours.append(Neighbour(ip=target, mac=host.mac, dev=source, confirmed=self.state.clock))
                    result.update(reachable=True, rtt_ms=round(PROBE_RTT * 1000, 3))
                    return result
        return lost(f"no answer from {target}")

    # time --------------------------------------------------------------------
    @_op
    def now(self) -> float:
        return self._lanes.get(threading.get_ident(), self.state.clock)

    @_op
    def sleep(self, seconds: float) -> float:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 3600:
            raise KernelError(f"sleep: seconds must be from 0 to 3600, got {seconds!r}")
        with kernel_lock(self):  # gene_sdk's sleep arrives without it (a real sleep must not hold it)
            me = threading.get_ident()
            if me not in self._lanes:
                return self.pass_time(seconds)
            self._lanes[me] += seconds
            self.state.clock = max(self.state.clock, self._lanes[me])
            return self._lanes[me]

    def pass_time(self, seconds: float) -> float:
        """Move the clock by any amount, outside a lane (`sleep`'s bound is the gene's); not part of gene_sdk."""
        with kernel_lock(self):
            self.state.clock += seconds
            return self.state.clock

    @contextmanager
    def lane(self, start: float) -> Iterator[None]:
        """This thread's sleeps run from `start` alongside other lanes: virtual time passes as the longest lane, not their sum.

        Two checks that watch the host at once take 10 virtual seconds, as they
        take 10 real ones on a real kernel. The host itself is one: every lane
        sees the switch as the furthest lane left it. Leaving the lane, the
        thread is back on the shared clock.
        """
        me = threading.get_ident()
        self._lanes[me] = start
        try:
            yield
        finally:
            del self._lanes[me]

    # internals ---------------------------------------------------------------
    def _fail_if_injected(self, name: str) -> None:
        for pending in self.state.errors:
            if pending.op in (None, name) and (pending.op is not None or name in api.MUTATING):
                pending.count -= 1
                if pending.count <= 0:
                    self.state.errors.remove(pending)
                raise KernelError(f"{name}: netlink error: {pending.error} (injected)")

    def _link(self, name: object) -> LinkState:
        api.check_ifname(name)
        if not isinstance(name, str) or name not in self.state.links:
            raise KernelError(f"no such interface: {name!r}")
        return self.state.links[name]

    def _bridge(self, name: str) -> LinkState:
        link = self._link(name)
        if link.kind != "bridge":
            raise KernelError(f"{name} is not a bridge")
        return link

    def _absent(self, name: str) -> None:
        api.check_ifname(name)
        if name in self.state.links:
            raise KernelError(f"{name} already exists")

    def _feature(self, feature: str) -> None:
        if not self.state.features.get(feature, True):
            raise KernelError(f"{feature}: link type not supported by this kernel")

    def _new_link(self, name: str, kind: str, mac: str, **fields: Any) -> LinkState:
        link = LinkState(name=name, index=self.state.next_index, kind=kind, mac=mac, **fields)
        self.state.next_index += 1
        self.state.links[name] = link
        return link

    def _release(self, bridge: LinkState, port: str) -> None:
        self.state.links[port].master = None
        bridge.port_since.pop(port, None)
        self.state.bridge_fdb = [e for e in self.state.bridge_fdb if not (e.bridge == bridge.name and e.port == port)]

    def _remove(self, name: str) -> None:
        link = self.state.links[name]
        for vlan in [other.name for other in self.state.links.values() if other.kind == "vlan" and other.parent == name]:
            self._remove(vlan)
        for port in list(link.port_since):
            self._release(link, port)
        for member in link.members:
            self.state.links[member].master = None
        if link.master is not None and link.master in self.state.links:
            self._release(self.state.links[link.master], name)
        del self.state.links[name]
        self.state.addresses.pop(name, None)
        self.state.neighbours = [n for n in self.state.neighbours if n.dev != name]
        self.state.bridge_fdb = [e for e in self.state.bridge_fdb if e.bridge != name]

    def _restart_stp_for(self, name: str) -> None:
        """A port that comes (back) up under STP starts over in listening."""
        link = self.state.links[name]
        for other in self.state.links.values():
            if other.kind == "bridge" and name in other.port_since:
                other.port_since[name] = self.state.clock
        if link.kind == "bridge":
            link.port_since = {p: self.state.clock for p in link.port_since}

    def _member_up(self, name: str) -> bool:
        link = self.state.links[name]
        return link.up and link.carrier

    def _active_member(self, bond: LinkState) -> str | None:
        if bond.active in bond.members and self._member_up(bond.active):
            return bond.active
        return next((m for m in bond.members if self._member_up(m)), None)

    def _carrier(self, link: LinkState) -> bool:
        if link.kind == "physical":
            return link.carrier
        if link.kind == "bridge":
            return any(self._port_state(link, p) == "forwarding" for p in link.port_since)
        if link.kind == "bond":
            return self._active_member(link) is not None
        if link.kind == "vlan" and link.parent:
            parent = self.state.links[link.parent]
            return parent.up and self._carrier(parent)
        return False

    def _port_state(self, bridge: LinkState, port: str) -> str:
        link = self.state.links[port]
        if not (bridge.up and link.up and self._carrier(link)):
            return "disabled"
        if not bridge.stp:
            return "forwarding"
        elapsed = self.state.clock - bridge.port_since[port]
        if elapsed < bridge.forward_delay:
            return "listening"
        if elapsed < 2 * bridge.forward_delay:
            return "learning"
        return "forwarding"

    def _ports(self, bridge: LinkState) -> list[dict]:
        return [{"name": p, "state": self._port_state(bridge, p)} for p in sorted(bridge.port_since)]

    def _stp(self, br: LinkState) -> dict:
        return {"enabled": br.stp, "forward_delay": br.forward_delay, "hello_time": br.hello_time, "max_age": br.max_age}

    def _describe(self, link: LinkState) -> dict:
        carrier = self._carrier(link)
        return {
            "name": link.name,
            "index": link.index,
            "kind": link.kind,
            "mac": link.mac,
            "mtu": link.mtu,
            "up": link.up,
            "carrier": carrier,
            "state": "up" if link.up and carrier else "down",
            "master": link.master,
            "parent": link.parent,
            "vlan_id": link.vlan_id,
        }

    def _egress(self, dev: str, as_port: bool = False) -> list[tuple[str, int | None]]:
        """The (NIC, VLAN tag) pairs a frame sent on `dev` leaves the host through."""
        link = self.state.links[dev]
        if not link.up or (link.master is not None and not as_port):
            return []
        if link.kind == "physical":
            return [(dev, None)] if link.carrier else []
        if link.kind == "bond":
            active = self._active_member(link)
            return [(active, None)] if active else []
        if link.kind == "vlan" and link.parent:
            return [(nic, link.vlan_id) for nic, tag in self._egress(link.parent, as_port=True) if tag is None]
        if link.kind == "bridge":
            out: list[tuple[str, int | None]] = []
            for port in sorted(link.port_since):
                if self._port_state(link, port) == "forwarding":
                    out += self._egress(port, as_port=True)
            return out
        return []

    def _hosts(self) -> list[HostSpec]:
        return ([self.state.gateway] if self.state.gateway else []) + list(self.state.hosts)

    def _switch_learn(self, mac: str, nic: str, vlan: int | None, announce: bool = False) -> None:
        keep_others = self.state.reflecting_switch and not announce
        self.state.switch = [
            e
            for e in self.state.switch
            if not (e.mac == mac and e.vlan == vlan and (e.port == nic or not keep_others))
        ]
        self.state.switch.append(SwitchEntry(mac=mac, port=nic, vlan=vlan, last_seen=self.state.clock))

    def _stale_ports(self, mac: str, current: list[str]) -> list[str]:
        """Old switch ports a reflecting switch still sends `mac` to."""
        if not self.state.reflecting_switch or not current:
            return []
        return sorted({e.port for e in self.state.switch if e.mac == mac and e.port not in current})

    def _flapping_entries(self, br: LinkState) -> list[dict]:
        egress = self._egress(br.name)
        stale = self._stale_ports(br.mac, [n for n, _ in egress])
        if not stale:
            return []
        new_ports = [p for p in sorted(br.port_since) if self._port_state(br, p) == "forwarding"]
        ports = stale + new_ports
        phase = int(self.state.clock) % len(ports)
        return [
            {"mac": br.mac, "port": p, "local": False, "age": 0.0 if i == phase else 1.0}
            for i, p in enumerate(ports)
        ]

    def _tick(self) -> None:
        """Bring the switch and bridge tables up to the current virtual time."""
        now = self.state.clock
        self.state.switch = [e for e in self.state.switch if now - e.last_seen <= SWITCH_AGEING]
        for bond in self.state.links.values():
            if bond.kind == "bond":
                bond.active = self._active_member(bond)
        for link in sorted(self.state.links.values(), key=lambda other: other.index):
            if link.master is None:
                for nic, vlan in self._egress(link.name):
                    self._switch_learn(link.mac, nic, vlan)
        hosts = self._hosts()
        for br in self.state.links.values():
            if br.kind != "bridge":
                continue
            self.state.bridge_fdb = [
                e for e in self.state.bridge_fdb if e.bridge != br.name or now - e.last_seen <= br.ageing_time
            ]
            for port in sorted(br.port_since):
                if self._port_state(br, port) not in ("learning", "forwarding"):
                    continue
                for nic, vlan in self._egress(port, as_port=True):
                    allowed = self.state.nics[nic].vlans
                    for host in hosts:
                        if host.vlan == vlan and (vlan is None or allowed is None or vlan in allowed):
                            self._bridge_learn(br.name, host.mac, port)

    def _bridge_learn(self, bridge: str, mac: str, port: str) -> None:
        self.state.bridge_fdb = [e for e in self.state.bridge_fdb if not (e.bridge == bridge and e.mac == mac)]
        self.state.bridge_fdb.append(FdbEntry(bridge=bridge, mac=mac, port=port, last_seen=self.state.clock))


def default_description(nics: int = 4, reflecting_switch: bool = False) -> MockDescription:
    """eth0..ethN-1 with the paradigm's MACs (aa:bb:cc:dd:00:01, ...) and a gateway."""
    return MockDescription(
        nics=[NicSpec(name=f"eth{i}", mac=f"aa:bb:cc:dd:00:{i + 1:02x}") for i in range(nics)],
        reflecting_switch=reflecting_switch,
    )
