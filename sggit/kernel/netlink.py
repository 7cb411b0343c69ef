"""The real kernel: rtnetlink through pyroute2, in a named network namespace or the host's.

Results have the shapes documented on `Kernel`, so a gene that passes against the
mock meets the same answers here. Kernel refusals become KernelError with the
operation and the kernel's reason; a link type the kernel lacks (bonding, 802.1Q
on some machines) reads "bond: link type not supported by this kernel".
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from sggit.kernel import api
from sggit.kernel.api import Kernel, KernelError
from sggit.kernel.packets import arp_frame, icmp_echo, parse_arp_reply, parse_icmp_echo_reply

NETNS_DIR = "/run/netns"
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
NUD_PERMANENT = 0x80
NUD_NOARP = 0x40
ETH_P_ARP = 0x0806
BRPORT_STATES = {0: "disabled", 1: "listening", 2: "learning", 3: "forwarding", 4: "blocking"}
NUD_STATES = {
    0x01: "INCOMPLETE",
    0x02: "REACHABLE",
    0x04: "STALE",
    0x08: "DELAY",
    0x10: "PROBE",
    0x20: "FAILED",
    0x40: "NOARP",
    0x80: "PERMANENT",
}
BOND_MODE_NUMBERS = {name: i for i, name in enumerate(api.BOND_MODES)}


def netns_exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def _data(msg: Any) -> Any:
    info = msg.get_attr("IFLA_LINKINFO")
    return info.get_attr("IFLA_INFO_DATA") if info is not None else None


def _kind(msg: Any) -> str:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    if kind:
        return str(kind)
    return "loopback" if msg["flags"] & IFF_LOOPBACK else "physical"


class NetlinkKernel(Kernel):
    kernel_kind = "netlink"

    def __init__(self, netns: str | None = None) -> None:
        if netns is not None and not netns_exists(netns):
            raise KernelError(f"network namespace {netns!r} does not exist (see `ip netns list`)")
        self.netns = netns
        try:
            self._ipr = IPRoute(netns=netns, flags=0) if netns else IPRoute()
        except OSError as exc:
            raise KernelError(f"cannot open netlink{' in ' + netns if netns else ''}: {exc.strerror or exc}") from None

    def close(self) -> None:
        self._ipr.close()

    def __enter__(self) -> NetlinkKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # plumbing ----------------------------------------------------------------
    @contextmanager
    def _call(self, op: str, kind: str | None = None, name: str | None = None) -> Iterator[None]:
        try:
            yield
        except NetlinkError as exc:
            if name is not None and exc.code == errno.ENODEV:
                raise KernelError(f"no such interface: {name!r}") from None
            if kind and exc.code in (errno.EOPNOTSUPP, errno.ENOTSUP):
                raise KernelError(f"{kind}: link type not supported by this kernel") from None
            if exc.code == errno.EPERM:
                raise KernelError(f"{op}: not permitted (needs CAP_NET_ADMIN)") from None
            raise KernelError(f"{op}: {os.strerror(exc.code)}") from None
        except OSError as exc:
            raise KernelError(f"{op}: {exc.strerror or exc}") from None

    def _msg(self, name: str) -> Any:
        api.check_ifname(name)
        with self._call("get_link", name=name):
            return self._ipr.link("get", ifname=name)[0]

    def _index(self, name: str) -> int:
        return int(self._msg(name)["index"])

    def _name_of(self, index: int) -> str | None:
        try:
            return self._ipr.link("get", index=index)[0].get_attr("IFLA_IFNAME")
        except NetlinkError:
            return None

    def _names(self) -> dict[int, str]:
        with self._call("list_links"):
            return {int(m["index"]): m.get_attr("IFLA_IFNAME") for m in self._ipr.get_links()}

    def _describe(self, msg: Any, names: dict[int, str] | None = None) -> dict:
        """A link as the interface promises it; names of related links are looked up only if needed."""
        name_of = names.get if names is not None else self._name_of
        master = msg.get_attr("IFLA_MASTER")
        kind = _kind(msg)
        data = _data(msg)
        parent = vlan_id = None
        if kind == "vlan":
            parent = name_of(msg.get_attr("IFLA_LINK"))
            vlan_id = data.get_attr("IFLA_VLAN_ID") if data is not None else None
        oper = str(msg.get_attr("IFLA_OPERSTATE") or "unknown").lower()
        return {
            "name": msg.get_attr("IFLA_IFNAME"),
            "index": int(msg["index"]),
            "kind": kind,
            "mac": msg.get_attr("IFLA_ADDRESS"),
            "mtu": msg.get_attr("IFLA_MTU"),
            "up": bool(msg["flags"] & IFF_UP),
            "carrier": bool(msg.get_attr("IFLA_CARRIER")),
            "state": {"up": "up", "down": "down", "lowerlayerdown": "down"}.get(oper, oper),
            "master": name_of(master) if master else None,
            "parent": parent,
            "vlan_id": vlan_id,
        }

    def _absent(self, name: str) -> None:
        api.check_ifname(name)
        with self._call("link lookup"):
            if self._ipr.link_lookup(ifname=name):
                raise KernelError(f"{name} already exists")

    def _require_kind(self, name: str, kind: str, op: str) -> Any:
        msg = self._msg(name)
        if _kind(msg) != kind:
            raise KernelError(f"{op}: {name} is not a {kind}")
        return msg

    def _socket(self, family: int, type_: int, proto: int) -> socket.socket:
        if self.netns is None:
            return socket.socket(family, type_, proto)
        from pyroute2.netns import create_socket

        return create_socket(self.netns, family, type_, proto, flags=0)

    # links -------------------------------------------------------------------
    def list_links(self) -> list[dict]:
        with self._call("list_links"):
            msgs = list(self._ipr.get_links())
        names = {int(m["index"]): m.get_attr("IFLA_IFNAME") for m in msgs}
        return [self._describe(m, names) for m in sorted(msgs, key=lambda m: m["index"])]

    def get_link(self, name: str) -> dict:
        return self._describe(self._msg(name))

    def _set(self, op: str, name: str, **attrs: Any) -> dict:
        api.check_ifname(name)
        with self._call(op, name=name):
            self._ipr.link("set", ifname=name, **attrs)
        return self.get_link(name)

    def set_link_up(self, name: str) -> dict:
        return self._set("set_link_up", name, state="up")

    def set_link_down(self, name: str) -> dict:
        return self._set("set_link_down", name, state="down")

    def set_mac(self, name: str, mac: str) -> dict:
        return self._set("set_mac", name, address=api.normalise_mac(mac))

    def set_mtu(self, name: str, mtu: int) -> dict:
        return self._set("set_mtu", name, mtu=api.check_mtu(mtu))

    def delete_link(self, name: str) -> bool:
        msg = self._msg(name)
        kind = _kind(msg)
        if kind not in ("bridge", "bond", "vlan"):
            raise KernelError(f"delete_link: {name} is a {kind} link and cannot be deleted")
        with self._call("delete_link"):
            self._ipr.link("del", index=msg["index"])
        return True

    # bridges -----------------------------------------------------------------
    def create_bridge(self, name: str, stp: bool = False) -> dict:
        self._absent(name)
        if not isinstance(stp, bool):
            raise KernelError(f"create_bridge: stp must be true or false, got {stp!r}")
        with self._call("create_bridge", kind="bridge"):
            self._ipr.link("add", ifname=name, kind="bridge", br_stp_state=int(stp))
        return self.get_link(name)

    def delete_bridge(self, name: str) -> bool:
        msg = self._require_kind(name, "bridge", "delete_bridge")
        with self._call("delete_bridge"):
            self._ipr.link("del", index=msg["index"])
        return True

    def add_port(self, bridge: str, port: str) -> list[dict]:
        br = self._require_kind(bridge, "bridge", "add_port")
        link = self._msg(port)
        if _kind(link) == "bridge":
            raise KernelError(f"add_port: {port} is a bridge; a bridge cannot be a port of another bridge")
        if link.get_attr("IFLA_MASTER"):
            raise KernelError(f"add_port: {port} is already a port of {self._name_of(link.get_attr('IFLA_MASTER'))}")
        with self._call("add_port"):
            self._ipr.link("set", index=link["index"], master=br["index"])
        return self._ports(br["index"])

    def remove_port(self, bridge: str, port: str) -> list[dict]:
        br = self._require_kind(bridge, "bridge", "remove_port")
        link = self._msg(port)
        if link.get_attr("IFLA_MASTER") != br["index"]:
            raise KernelError(f"remove_port: {port} is not a port of {bridge}")
        with self._call("remove_port"):
            self._ipr.link("set", index=link["index"], master=0)
        return self._ports(br["index"])

    def list_ports(self, bridge: str) -> list[dict]:
        return self._ports(self._require_kind(bridge, "bridge", "list_ports")["index"])

    def _ports(self, bridge_index: int) -> list[dict]:
        with self._call("list_ports"):
            dump = list(self._ipr.brport("dump"))
        ports = []
        for msg in dump:
            if msg.get_attr("IFLA_MASTER") != bridge_index:
                continue
            info = msg.get_attr("IFLA_PROTINFO")
            state = info.get_attr("IFLA_BRPORT_STATE") if info is not None else None
            ports.append({"name": msg.get_attr("IFLA_IFNAME"), "state": BRPORT_STATES.get(state, "disabled") if state is not None else "disabled"})
        return sorted(ports, key=lambda p: p["name"])

    def set_stp(
        self,
        bridge: str,
        enabled: bool,
        forward_delay: float | None = None,
        hello_time: float | None = None,
        max_age: float | None = None,
    ) -> dict:
        br = self._require_kind(bridge, "bridge", "set_stp")
        if not isinstance(enabled, bool):
            raise KernelError(f"set_stp: enabled must be true or false, got {enabled!r}")
        api.check_stp_timers(forward_delay, hello_time, max_age)
        attrs: dict[str, int] = {}
        for key, value in (("br_forward_delay", forward_delay), ("br_hello_time", hello_time), ("br_max_age", max_age)):
            if value is not None:
                attrs[key] = int(round(value * 100))
        attrs["br_stp_state"] = int(enabled)
        with self._call("set_stp"):
            self._ipr.link("set", index=br["index"], kind="bridge", **attrs)
        return self.get_stp(bridge)

    def get_stp(self, bridge: str) -> dict:
        data = _data(self._require_kind(bridge, "bridge", "get_stp"))

        def seconds(attr: str) -> float:
            value = data.get_attr(attr) / 100
            return int(value) if value == int(value) else value

        return {
            "enabled": bool(data.get_attr("IFLA_BR_STP_STATE")),
            "forward_delay": seconds("IFLA_BR_FORWARD_DELAY"),
            "hello_time": seconds("IFLA_BR_HELLO_TIME"),
            "max_age": seconds("IFLA_BR_MAX_AGE"),
        }

    # bonds and VLANs ---------------------------------------------------------
    def create_bond(
        self, name: str, mode: str, members: list[str], miimon: int = 100, autoconnect: bool = True
    ) -> dict:
        self._absent(name)
        api.check_bond_mode(mode)
        if isinstance(miimon, bool) or not isinstance(miimon, int) or miimon < 0:
            raise KernelError(f"create_bond: miimon must be a non-negative integer, got {miimon!r}")
        if not isinstance(members, list) or not members or len(set(members)) != len(members):
            raise KernelError("create_bond: members must be a non-empty list of distinct interface names")
        links = [self.get_link(m) for m in members]
        for link in links:
            if link["master"] is not None:
                raise KernelError(f"create_bond: {link['name']} is already enslaved to {link['master']}")
        with self._call("create_bond", kind="bond"):
            self._ipr.link("add", ifname=name, kind="bond", bond_mode=BOND_MODE_NUMBERS[mode], bond_miimon=miimon)
        bond_index = self._index(name)
        try:
            for link in links:
                with self._call("create_bond"):
                    self._ipr.link("set", index=link["index"], state="down")
                    self._ipr.link("set", index=link["index"], master=bond_index)
                    self._ipr.link("set", index=link["index"], state="up")
        except KernelError:
            with self._call("create_bond cleanup"):
                self._ipr.link("del", index=bond_index)
            raise
        return self.get_link(name)

    def delete_bond(self, name: str) -> bool:
        msg = self._require_kind(name, "bond", "delete_bond")
        with self._call("delete_bond"):
            self._ipr.link("del", index=msg["index"])
        return True

    def get_bond(self, name: str) -> dict:
        msg = self._require_kind(name, "bond", "get_bond")
        data = _data(msg)
        names = self._names()
        mode_number = data.get_attr("IFLA_BOND_MODE") if data is not None else None
        mode = api.BOND_MODES[mode_number] if mode_number is not None and mode_number < len(api.BOND_MODES) else None
        active_index = data.get_attr("IFLA_BOND_ACTIVE_SLAVE") if data is not None else None
        members = []
        for link in self.list_links():
            if link["master"] == name:
                up = link["up"] and link["carrier"]
                active = link["index"] == active_index if mode == "active-backup" else up
                members.append({"name": link["name"], "up": up, "active": active})
        active_member = names.get(active_index) if active_index else None
        if mode != "active-backup":
            active_member = next((m["name"] for m in members if m["active"]), None)
        return {
            "name": name,
            "mode": mode,
            "miimon": data.get_attr("IFLA_BOND_MIIMON") if data is not None else None,
            "autoconnect": None,
            "up": bool(msg["flags"] & IFF_UP),
            "members": members,
            "active_member": active_member,
            "members_up": sum(1 for m in members if m["up"]),
        }

    def create_vlan(self, parent: str, vlan_id: int, name: str | None = None) -> dict:
        api.check_vlan_id(vlan_id)
        parent_index = self._index(parent)
        name = name if name is not None else f"{parent}.{vlan_id}"
        self._absent(name)
        with self._call("create_vlan", kind="vlan"):
            self._ipr.link("add", ifname=name, kind="vlan", link=parent_index, vlan_id=vlan_id)
        return self.get_link(name)

    # addresses and neighbours ------------------------------------------------
    def _parse_cidr(self, cidr: object) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
        try:
            return ipaddress.ip_interface(cidr)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise KernelError(f"not an address with prefix: {cidr!r} (expected e.g. 192.0.2.10/24)") from None

    def add_address(self, dev: str, cidr: str) -> list[str]:
        addr = self._parse_cidr(cidr)
        index = self._index(dev)
        try:
            self._ipr.addr("add", index=index, address=str(addr.ip), prefixlen=addr.network.prefixlen)
        except NetlinkError as exc:
            if exc.code == errno.EEXIST:
                raise KernelError(f"add_address: {addr} is already on {dev}") from None
            with self._call("add_address"):
                raise
        return self._addresses(index)

    def remove_address(self, dev: str, cidr: str) -> list[str]:
        addr = self._parse_cidr(cidr)
        index = self._index(dev)
        try:
            self._ipr.addr("del", index=index, address=str(addr.ip), prefixlen=addr.network.prefixlen)
        except NetlinkError as exc:
            if exc.code == errno.EADDRNOTAVAIL:
                raise KernelError(f"remove_address: {addr} is not on {dev}") from None
            with self._call("remove_address"):
                raise
        return self._addresses(index)

    def list_addresses(self, dev: str) -> list[str]:
        """Addresses set on `dev`; IPv6 link-local ones are the kernel's, not ours, and left out."""
        return self._addresses(self._index(dev))

    def _addresses(self, index: int) -> list[str]:
        with self._call("list_addresses"):
            msgs = list(self._ipr.get_addr(index=index))
        out = []
        for msg in msgs:
            iface = ipaddress.ip_interface(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}")
            if not iface.ip.is_link_local:
                out.append(str(iface))
        return out

    def default_gateway(self, dev: str | None = None) -> str | None:
        index = self._index(dev) if dev is not None else None
        with self._call("default_gateway"):
            routes = list(self._ipr.get_default_routes(family=socket.AF_INET))
        for route in routes:
            if index is None or route.get_attr("RTA_OIF") == index:
                gateway = route.get_attr("RTA_GATEWAY")
                if gateway:
                    return str(gateway)
        return None

    def neighbours(self, dev: str | None = None) -> list[dict]:
        names = self._names()
        kwargs: dict[str, Any] = {"family": socket.AF_INET}
        if dev is not None:
            kwargs["ifindex"] = self._index(dev)
        with self._call("neighbours"):
            msgs = list(self._ipr.get_neighbours(**kwargs))
        return [
            {
                "ip": m.get_attr("NDA_DST"),
                "mac": m.get_attr("NDA_LLADDR"),
                "dev": names.get(m["ifindex"]),
                "state": NUD_STATES.get(m["state"], str(m["state"])),
            }
            for m in msgs
            if m.get_attr("NDA_DST") and not ipaddress.ip_address(m.get_attr("NDA_DST")).is_multicast
        ]

    def fdb(self, bridge: str) -> list[dict]:
        br = self._require_kind(bridge, "bridge", "fdb")
        names = self._names()
        with self._call("fdb"):
            msgs = list(self._ipr.fdb("dump"))
        out = []
        for m in msgs:
            mac = m.get_attr("NDA_LLADDR")
            if not mac or int(mac[:2], 16) & 1:
                continue
            if m.get_attr("NDA_MASTER") != br["index"] and m["ifindex"] != br["index"]:
                continue
            cache = m.get_attr("NDA_CACHEINFO")
            local = bool(m["state"] & (NUD_PERMANENT | NUD_NOARP))
            age = None if local or not cache else cache["ndm_updated"] / 100
            out.append({"mac": mac, "port": names.get(m["ifindex"]), "local": local, "age": age})
        return out

    # traffic -----------------------------------------------------------------
    def _source_ipv4(self, dev: str) -> str | None:
        for cidr in self.list_addresses(dev):
            iface = ipaddress.ip_interface(cidr)
            if iface.version == 4:
                return str(iface.ip)
        return None

    def send_gratuitous_arp(self, dev: str, ip: str | None = None) -> dict:
        link = self.get_link(dev)
        if not link["up"]:
            raise KernelError(f"send_gratuitous_arp: {dev} is down")
        if ip is None:
            ip = self._source_ipv4(dev) or "0.0.0.0"
        try:
            ip = str(ipaddress.IPv4Address(ip))
        except ValueError:
            raise KernelError(f"send_gratuitous_arp: not an IPv4 address: {ip!r}") from None
        frame = arp_frame(op=1, src_mac=link["mac"], src_ip=ip, dst_mac="ff:ff:ff:ff:ff:ff", dst_ip=ip)
        with self._call("send_gratuitous_arp"):
            with self._socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
                sock.bind((dev, 0))
                sock.send(frame)
        egress = [dev]
        if link["kind"] == "bridge":
            egress = [p["name"] for p in self.list_ports(dev) if p["state"] == "forwarding"]
        return {"dev": dev, "mac": link["mac"], "ip": ip, "sent": 1, "egress": egress}

    def probe(self, source: str, target: str, method: str = "arp", timeout: float = 1.0) -> dict:
        link = self.get_link(source)
        api.check_probe(method, timeout, target)
        result: dict[str, Any] = {
            "reachable": False, "rtt_ms": None, "method": method, "source": source, "target": target, "error": None,
        }
        src_ip = self._source_ipv4(source)
        if method != "arp" and src_ip is None:
            result["error"] = f"no IPv4 address on {source}"
            return result
        if not link["up"]:
            result["error"] = f"{source} is down"
            return result
        probe = {"arp": self._probe_arp, "icmp": self._probe_icmp, "udp": self._probe_udp}[method]
        with self._call("probe"):
            rtt = probe(link, src_ip, target, timeout)
        if rtt is None:
            result["error"] = f"no answer from {target} within {timeout}s"
        else:
            result.update(reachable=True, rtt_ms=round(rtt * 1000, 3))
        return result

    def _probe_arp(self, link: dict, src_ip: str | None, target: str, timeout: float) -> float | None:
        frame = arp_frame(
            op=1, src_mac=link["mac"], src_ip=src_ip or "0.0.0.0", dst_mac="ff:ff:ff:ff:ff:ff", dst_ip=target
        )
        with self._socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
            sock.bind((link["name"], 0))
            start = time.monotonic()
            sock.send(frame)
            while (left := timeout - (time.monotonic() - start)) > 0:
                sock.settimeout(left)
                try:
                    data = sock.recv(2048)
                except TimeoutError:
                    return None
                reply = parse_arp_reply(data)
                if reply is not None and reply["src_ip"] == target:
                    return time.monotonic() - start
        return None

    def _probe_icmp(self, link: dict, src_ip: str | None, target: str, timeout: float) -> float | None:
        ident = os.getpid() & 0xFFFF
        with self._socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, link["name"].encode())
            start = time.monotonic()
            sock.sendto(icmp_echo(ident, 1), (target, 0))
            while (left := timeout - (time.monotonic() - start)) > 0:
                sock.settimeout(left)
                try:
                    data, (addr, _) = sock.recvfrom(2048)
                except TimeoutError:
                    return None
                if addr == target and parse_icmp_echo_reply(data) == (ident, 1):
                    return time.monotonic() - start
        return None

    def _probe_udp(self, link: dict, src_ip: str | None, target: str, timeout: float) -> float | None:
        """Answered means a datagram came back or the port was refused: either way the host is there."""
        with self._socket(socket.AF_INET, socket.SOCK_DGRAM, 0) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, link["name"].encode())
            sock.settimeout(timeout)
            start = time.monotonic()
            sock.connect((target, 33434))
            sock.send(b"sggit-probe")
            try:
                sock.recv(2048)
            except ConnectionRefusedError:
                pass
            except TimeoutError:
                return None
            return time.monotonic() - start

    # time --------------------------------------------------------------------
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> float:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 3600:
            raise KernelError(f"sleep: seconds must be from 0 to 3600, got {seconds!r}")
        time.sleep(seconds)
        return time.monotonic()

