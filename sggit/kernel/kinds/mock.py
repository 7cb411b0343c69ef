"""The mock kind: a simulated host on a virtual clock, kept between runs in the genome's state directory.

Shadow replay runs on a copy of the live host as it is now: a mock kernel is
copied whole (links, switch, clock, injected faults); any other kernel is
replicated onto a mock host (`replicate`), the paradigm's "mock kernel with
production topology replicated".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sggit.kernel.kinds import SLEEP_LIMIT, KernelFactory, KernelKind, KernelTarget

MOCK_FEATURES = ("bridge", "bond", "vlan")
NIC_KINDS = ("physical", "veth")


def state_path(target: KernelTarget) -> Path:
    return target.state_dir / f"mock-{target.phenotype}.json"


class MockKind(KernelKind):
    name = "mock"
    clock = "virtual"
    summary = "simulated host (virtual clock), kept in .git/sggit/mock-<phenotype>.json"

    @contextmanager
    def open(self, target: KernelTarget) -> Iterator[Any]:
        from sggit.kernel.session import ensure_mock_state, mock_session

        path = state_path(target)
        if not path.exists():  # the host is described (and the phenotype read) only when it is first made
            ensure_mock_state(path, target.host())
        with mock_session(path) as kernel:
            yield kernel

    def reset(self, target: KernelTarget) -> Path:
        """Put the phenotype's simulated host back as it boots."""
        from sggit.kernel.session import create_mock_state

        path = state_path(target)
        create_mock_state(path, target.host(), force=True)
        return path

    def lane(self, kernel: Any, start: float) -> AbstractContextManager[Any]:
        return kernel.lane(start)

    def skip(self, kernel: Any, steps: int) -> None:
        """The clock moves at once (outside a lane, where `advance` is called)."""
        kernel.pass_time(steps * SLEEP_LIMIT)

    def fresh(self, target: KernelTarget) -> KernelFactory:
        from sggit.kernel.mock import MockKernel

        description = target.host()
        return lambda: MockKernel(description)

    def shadow(self, live: Any, target: KernelTarget) -> KernelFactory:
        """Copies of the live mock as it is when each copy is made: a factory made when a run starts
        (an engine's evaluator) still replays on what the run's earlier steps built."""
        from sggit.kernel.mock import MockKernel

        return lambda: MockKernel.from_json(live.state.model_dump_json())

    def features(self, kernel: Any | None = None) -> dict[str, tuple[bool, str]]:
        enabled = kernel.state.features if kernel is not None else {}
        return {f: (enabled.get(f, True), "simulated" if enabled.get(f, True) else "disabled in this mock host") for f in MOCK_FEATURES}


def replicate(live: Any, target: KernelTarget) -> Any:
    """A mock host holding the live kernel's NICs, bonds, bridges (STP, MAC, ports), VLANs, addresses and link states.

    Read through the kernel interface every kind offers, so any kernel can be
    replicated. The phenotype's simulated host supplies what a kernel does not
    show (the upstream gateway); link kinds the mock does not model are left out.
    Bridges under STP are given time to settle, as the live host's have.
    """
    from sggit.kernel.api import KernelError
    from sggit.kernel.mock import MockKernel, NicSpec

    links = sorted(live.list_links(), key=lambda link: link["index"])
    nics = [NicSpec(name=link["name"], mac=link["mac"], carrier=bool(link["carrier"]) or not link["up"], up=link["up"], mtu=link["mtu"])
            for link in links if link["kind"] in NIC_KINDS]
    base = target.host()
    copy = MockKernel(base.model_copy(update={"nics": nics, "leases": {}, "addresses": {}, "reflecting_switch": False,
                                              "gateway": _gateway(live, base.gateway)}))
    kinds = {link["name"]: link["kind"] for link in links}
    for link in links:
        if link["kind"] == "bond":
            bond = live.get_bond(link["name"])
            copy.create_bond(link["name"], bond["mode"], [m["name"] for m in bond["members"]], miimon=bond["miimon"])
    settle = 0.0
    for link in links:
        if link["kind"] == "bridge":
            stp = live.get_stp(link["name"])
            copy.create_bridge(link["name"], stp=bool(stp["enabled"]))
            copy.set_stp(link["name"], bool(stp["enabled"]), stp["forward_delay"], stp["hello_time"], stp["max_age"])
            settle = max(settle, 2 * float(stp["forward_delay"]) + 1 if stp["enabled"] else 0.0)
    for link in links:
        if link["kind"] == "vlan" and link.get("parent") in kinds:
            copy.create_vlan(link["parent"], link["vlan_id"], link["name"])
    for link in links:
        if link["kind"] == "bridge":
            for port in live.list_ports(link["name"]):
                if port["name"] in kinds and kinds[port["name"]] != "loopback":
                    copy.add_port(link["name"], port["name"])
    for link in links:
        if link["kind"] not in ("bond", "bridge", "vlan"):
            continue
        copy.set_mac(link["name"], link["mac"])
        if copy.get_link(link["name"])["mtu"] != link["mtu"]:
            copy.set_mtu(link["name"], link["mtu"])
    for link in links:
        if link["name"] not in {other["name"] for other in copy.list_links()}:
            continue
        (copy.set_link_up if link["up"] else copy.set_link_down)(link["name"])
        for cidr in live.list_addresses(link["name"]):
            if cidr not in copy.list_addresses(link["name"]):
                try:
                    copy.add_address(link["name"], cidr)
                except KernelError:
                    continue  # an address the mock does not model (the kernel's own link-local ones) changes no replay
    if settle:
        copy.sleep(settle)
    return copy


def _gateway(live: Any, fallback: Any) -> Any:
    """The live host's default gateway (with the MAC its neighbour table holds), else the phenotype host's."""
    from sggit.kernel.mock import HostSpec

    ip = live.default_gateway()
    if not ip:
        return fallback
    mac = next((n["mac"] for n in live.neighbours() if n.get("ip") == ip and n.get("mac")), None)
    return HostSpec(ip=ip, mac=mac or (fallback.mac if fallback is not None else "52:54:00:00:00:01"))


def replica_factory(live: Any, target: KernelTarget) -> KernelFactory:
    """Throwaway copies of a replica of `live` as it is when each is made; the clean host when it cannot be read.

    Replicating reads the whole host, so a replica is kept while the host's links
    (names, kinds, masters, MACs, up) read the same, and made again when they change.
    """
    from sggit.kernel.api import KernelError
    from sggit.kernel.mock import MockKernel

    lock = threading.Lock()
    kept: dict[str, Any] = {}

    def make() -> Any:
        with lock:
            try:
                links = sorted((link["name"], link["kind"], link["master"], link["mac"], link["up"]) for link in live.list_links())
                if kept.get("links") != links:
                    kept.update(links=links, snapshot=replicate(live, target).to_json())
            except KernelError:
                return MockKind().fresh(target)()
            return MockKernel.from_json(kept["snapshot"])

    return make
