"""The gene_sdk surface: everything a gene may do to a kernel, and nothing else.

A gene reaches the kernel only through these methods, usually across a process
pipe, so every argument and every result is plain JSON (dict, list, str, int,
float, bool, None). Mock and netlink kernels implement the same methods with the
same result shapes, so a gene cannot tell which one it runs against.
"""

from __future__ import annotations

import ipaddress
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from sggit.errors import SggitError
from sggit.kernel import inverses
from sggit.kernel.inverses import Planner

IFNAMSIZ = 15
BOND_MODES = (
    "balance-rr",
    "active-backup",
    "balance-xor",
    "broadcast",
    "802.3ad",
    "balance-tlb",
    "balance-alb",
)
PROBE_METHODS = ("arp", "icmp", "udp")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class KernelError(SggitError):
    """A kernel operation that could not be done; the message says which and why."""


class ArgumentError(KernelError):
    """An argument no kernel accepts, refused before anything changes: the caller's mistake, not the host's.

    A gene sees it as any KernelError; `sggit kernel call` reports it as a usage error.
    """



def check_ifname(name: object) -> str:
    """Reject names the Linux kernel would refuse (dev_valid_name), before anything changes.

    IFNAMSIZ counts bytes, not characters, and rtnetlink would cut a name at a NUL
    and create a different interface, so both are checked here for every kernel.
    """
    if not isinstance(name, str) or not name:
        raise ArgumentError(f"interface name must be a non-empty string, got {name!r}")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise ArgumentError(f"interface name {name!r} is not valid UTF-8") from None
    if size > IFNAMSIZ:
        raise ArgumentError(f"interface name {name!r} is longer than {IFNAMSIZ} bytes ({size} bytes in UTF-8)")
    if name in (".", ".."):
        raise ArgumentError(f"interface name {name!r} is reserved")
    bad = next((c for c in name if c in "\0/:" or c.isspace()), None)
    if bad is not None:
        raise ArgumentError(f"interface name {name!r} contains {bad!r}, which the kernel refuses (no NUL, '/', ':' or whitespace)")
    return name


def check_mac(mac: object) -> str:
    """Any MAC address, in any case, as the kernel prints it (lower case); a forwarding entry's may be multicast."""
    if not isinstance(mac, str) or not _MAC.match(mac.lower()):
        raise ArgumentError(f"not a MAC address: {mac!r} (expected aa:bb:cc:dd:ee:ff)")
    return mac.lower()


def normalise_mac(mac: object) -> str:
    """Accept any case; refuse multicast and all-zero, which no interface may carry."""
    mac = check_mac(mac)
    if int(mac[:2], 16) & 1:
        raise ArgumentError(f"{mac} is a multicast MAC and cannot be an interface address")
    if mac == "00:00:00:00:00:00":
        raise ArgumentError("00:00:00:00:00:00 cannot be an interface address")
    return mac


def check_mtu(mtu: object) -> int:
    if isinstance(mtu, bool) or not isinstance(mtu, int) or not 68 <= mtu <= 65535:
        raise ArgumentError(f"MTU must be an integer from 68 to 65535, got {mtu!r}")
    return mtu


def check_vlan_id(vlan_id: object) -> int:
    if isinstance(vlan_id, bool) or not isinstance(vlan_id, int) or not 1 <= vlan_id <= 4094:
        raise ArgumentError(f"VLAN ID must be an integer from 1 to 4094, got {vlan_id!r}")
    return vlan_id


def check_bond_mode(mode: object) -> str:
    if mode not in BOND_MODES:
        raise ArgumentError(f"unknown bonding mode {mode!r}; one of: {', '.join(BOND_MODES)}")
    return str(mode)


def check_probe_method(method: object) -> str:
    if method not in PROBE_METHODS:
        raise ArgumentError(f"probe: method must be one of {', '.join(PROBE_METHODS)}, got {method!r}")
    return str(method)


def check_probe(method: object, timeout: object, target: object) -> None:
    """The same argument rules on every kernel, so a gene cannot tell them apart."""
    check_probe_method(method)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 60:
        raise ArgumentError(f"probe: timeout must be from 0 to 60 seconds, got {timeout!r}")
    check_probe_target(target)


def check_probe_target(target: object) -> str:
    try:
        ipaddress.IPv4Address(target)  # type: ignore[arg-type]
    except ValueError:
        raise ArgumentError(f"probe: target must be an IPv4 address, got {target!r}") from None
    return str(target)


def check_stp_timers(forward_delay: object, hello_time: object, max_age: object) -> None:
    """The ranges the Linux bridge accepts with STP on (br_stp_if.c / 802.1D)."""
    for name, value, low, high in (
        ("forward_delay", forward_delay, 2, 30),
        ("hello_time", hello_time, 1, 10),
        ("max_age", max_age, 6, 40),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ArgumentError(f"{name} must be from {low} to {high} seconds, got {value!r}")


F = TypeVar("F", bound=Callable[..., Any])


def mutating(planner: Planner) -> Callable[[F], F]:
    """Declare an operation as changing the kernel, naming the planner of its inverse beside it."""

    def mark(operation: F) -> F:
        operation.__sggit_inverse__ = planner  # type: ignore[attr-defined]
        return operation

    return mark


class Kernel(ABC):
    """The gene_sdk interface. Public methods are exactly what genes may call.

    Results (shapes shared by every kernel):
    link: {"name", "index", "kind", "mac", "mtu", "up", "carrier", "state",
           "master", "parent", "vlan_id"}
    port: {"name", "state"} with state one of disabled, listening, learning,
          forwarding, blocking
    fdb entry: {"mac", "port", "local", "age"} (age in seconds, None if unknown)
    neighbour: {"ip", "mac", "dev", "state"}
    probe: {"reachable", "rtt_ms", "method", "source", "target", "error"}

    `kernel_kind` names the entry of `sggit.kernel.kinds.KINDS` this class belongs to.
    """

    kernel_kind: ClassVar[str] = ""

    # links
    @abstractmethod
    def list_links(self) -> list[dict]: ...

    @abstractmethod
    def get_link(self, name: str) -> dict: ...

    @mutating(inverses.set_link_up)
    @abstractmethod
    def set_link_up(self, name: str) -> dict: ...

    @mutating(inverses.set_link_down)
    @abstractmethod
    def set_link_down(self, name: str) -> dict: ...

    @mutating(inverses.set_mac)
    @abstractmethod
    def set_mac(self, name: str, mac: str) -> dict: ...

    @mutating(inverses.set_mtu)
    @abstractmethod
    def set_mtu(self, name: str, mtu: int) -> dict: ...

    @mutating(inverses.delete_link)
    @abstractmethod
    def delete_link(self, name: str) -> bool: ...

    # bridges
    @mutating(inverses.create_bridge)
    @abstractmethod
    def create_bridge(self, name: str, stp: bool = False) -> dict: ...

    @mutating(inverses.delete_bridge)
    @abstractmethod
    def delete_bridge(self, name: str) -> bool: ...

    @mutating(inverses.add_port)
    @abstractmethod
    def add_port(self, bridge: str, port: str) -> list[dict]: ...

    @mutating(inverses.remove_port)
    @abstractmethod
    def remove_port(self, bridge: str, port: str) -> list[dict]: ...

    @abstractmethod
    def list_ports(self, bridge: str) -> list[dict]: ...

    @mutating(inverses.set_stp)
    @abstractmethod
    def set_stp(
        self,
        bridge: str,
        enabled: bool,
        forward_delay: float | None = None,
        hello_time: float | None = None,
        max_age: float | None = None,
    ) -> dict: ...

    @abstractmethod
    def get_stp(self, bridge: str) -> dict: ...

    # bonds and VLANs
    @mutating(inverses.create_bond)
    @abstractmethod
    def create_bond(
        self, name: str, mode: str, members: list[str], miimon: int = 100, autoconnect: bool = True
    ) -> dict: ...

    @mutating(inverses.delete_bond)
    @abstractmethod
    def delete_bond(self, name: str) -> bool: ...

    @abstractmethod
    def get_bond(self, name: str) -> dict: ...

    @mutating(inverses.create_vlan)
    @abstractmethod
    def create_vlan(self, parent: str, vlan_id: int, name: str | None = None) -> dict: ...

    # addresses and neighbours
    @mutating(inverses.add_address)
    @abstractmethod
    def add_address(self, dev: str, cidr: str) -> list[str]: ...

    @mutating(inverses.remove_address)
    @abstractmethod
    def remove_address(self, dev: str, cidr: str) -> list[str]: ...

    @abstractmethod
    def list_addresses(self, dev: str) -> list[str]: ...

    @abstractmethod
    def default_gateway(self, dev: str | None = None) -> str | None: ...

    @abstractmethod
    def neighbours(self, dev: str | None = None) -> list[dict]: ...

    @abstractmethod
    def fdb(self, bridge: str) -> list[dict]: ...

    # traffic
    @abstractmethod
    def send_gratuitous_arp(self, dev: str, ip: str | None = None) -> dict: ...

    @abstractmethod
    def probe(self, source: str, target: str, method: str = "arp", timeout: float = 1.0) -> dict: ...

    # time
    @abstractmethod
    def now(self) -> float: ...

    @abstractmethod
    def sleep(self, seconds: float) -> float: ...


def interface_names() -> frozenset[str]:
    """Names a gene may call: the abstract methods of Kernel, nothing inherited."""
    return frozenset(Kernel.__abstractmethods__)


INTERFACE: frozenset[str] = interface_names()


def mutating_operations() -> frozenset[str]:
    """Operations declared `@mutating`: the calls a transaction records and can undo."""
    return frozenset(name for name in INTERFACE if hasattr(getattr(Kernel, name), "__sggit_inverse__"))


MUTATING: frozenset[str] = mutating_operations()
