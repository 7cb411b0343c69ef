"""Netlink operations against the same change made with the `ip` command, as ratios.

Both sides run in the same throwaway namespace in the same run, so the ratio is
what matters, not the absolute times. Each operation is a do/undo pair, so every
round starts from the same state. The ratio lands in each benchmark's extra_info
(`ratio_vs_ip`; below 1 means netlink is faster than spawning `ip`). A netlink
operation here includes the reads that give a clear error and a useful result
(the link after the change, the bridge's ports), which `ip` does not do.

Run: pytest benchmarks/bench_kernel.py --benchmark-only --benchmark-json=out.json
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator

import pytest
from netns import sh, throwaway_netns

from sggit.kernel.dispatch import perform
from sggit.kernel.mock import MockKernel, default_description
from sggit.kernel.netlink import NetlinkKernel
from sggit.kernel.undo import UndoLog

ROUNDS = 40



@pytest.fixture(scope="module")
def ns() -> Iterator[str]:
    with throwaway_netns("sgk-bench", ("link", "add", "br0", "type", "bridge")) as name:
        yield name


@pytest.fixture(scope="module")
def kernel(ns: str) -> Iterator[NetlinkKernel]:
    with NetlinkKernel(ns) as k:
        yield k


def _ip_time(ns: str, *commands: list[str]) -> float:
    """Mean seconds for one round of `ip` commands making the same change."""
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for command in commands:
            sh(command[0], "-n", ns, *command[1:])
        samples.append(time.perf_counter() - start)
    return statistics.mean(samples)


def _compare(benchmark, ns: str, netlink_round: Callable[[], None], *ip_commands: list[str]) -> None:
    benchmark.pedantic(netlink_round, rounds=ROUNDS, iterations=1, warmup_rounds=2)
    baseline = _ip_time(ns, *ip_commands)
    ratio = benchmark.stats.stats.mean / baseline
    benchmark.extra_info["ip_mean_s"] = baseline
    benchmark.extra_info["ratio_vs_ip"] = round(ratio, 4)


def test_set_mtu(benchmark, kernel: NetlinkKernel, ns: str) -> None:
    _compare(
        benchmark, ns,
        lambda: (kernel.set_mtu("eth0", 1400), kernel.set_mtu("eth0", 1500)),
        ["ip", "link", "set", "dev", "eth0", "mtu", "1400"], ["ip", "link", "set", "dev", "eth0", "mtu", "1500"],
    )


def test_set_link_up_down(benchmark, kernel: NetlinkKernel, ns: str) -> None:
    _compare(
        benchmark, ns,
        lambda: (kernel.set_link_up("eth1"), kernel.set_link_down("eth1")),
        ["ip", "link", "set", "dev", "eth1", "up"], ["ip", "link", "set", "dev", "eth1", "down"],
    )


def test_set_mac(benchmark, kernel: NetlinkKernel, ns: str) -> None:
    _compare(
        benchmark, ns,
        lambda: (kernel.set_mac("eth1", "02:00:00:00:00:01"), kernel.set_mac("eth1", "02:00:00:00:00:02")),
        ["ip", "link", "set", "dev", "eth1", "address", "02:00:00:00:00:01"],
        ["ip", "link", "set", "dev", "eth1", "address", "02:00:00:00:00:02"],
    )


def test_create_delete_bridge(benchmark, kernel: NetlinkKernel, ns: str) -> None:
    _compare(
        benchmark, ns,
        lambda: (kernel.create_bridge("brb"), kernel.delete_bridge("brb")),
        ["ip", "link", "add", "brb", "type", "bridge"], ["ip", "link", "del", "brb"],
    )


def test_add_remove_port(benchmark, kernel: NetlinkKernel, ns: str) -> None:
    _compare(
        benchmark, ns,
        lambda: (kernel.add_port("br0", "eth0"), kernel.remove_port("br0", "eth0")),
        ["ip", "link", "set", "dev", "eth0", "master", "br0"], ["ip", "link", "set", "dev", "eth0", "nomaster"],
    )


def test_set_stp(benchmark, kernel: NetlinkKernel, ns: str) -> None:
    _compare(
        benchmark, ns,
        lambda: (kernel.set_stp("br0", True), kernel.set_stp("br0", False)),
        ["ip", "link", "set", "dev", "br0", "type", "bridge", "stp_state", "1"],
        ["ip", "link", "set", "dev", "br0", "type", "bridge", "stp_state", "0"],
    )


def test_add_remove_address(benchmark, kernel: NetlinkKernel, ns: str) -> None:
    _compare(
        benchmark, ns,
        lambda: (kernel.add_address("eth1", "10.9.9.9/24"), kernel.remove_address("eth1", "10.9.9.9/24")),
        ["ip", "addr", "add", "10.9.9.9/24", "dev", "eth1"], ["ip", "addr", "del", "10.9.9.9/24", "dev", "eth1"],
    )


def test_list_links(benchmark, kernel: NetlinkKernel, ns: str) -> None:
    _compare(benchmark, ns, kernel.list_links, ["ip", "-j", "-d", "link", "show"])


def test_fdb(benchmark, kernel: NetlinkKernel, ns: str) -> None:
    _compare(benchmark, ns, lambda: kernel.fdb("br0"), ["bridge", "-j", "fdb", "show", "br", "br0"])


def test_dispatch_overhead_on_mock(benchmark) -> None:
    """perform() with undo planning against calling the mock method directly."""
    k = MockKernel(default_description())

    def direct() -> None:
        k.set_mtu("eth0", 1400)
        k.set_mtu("eth0", 1500)

    def dispatched() -> None:
        log = UndoLog()
        perform(k, "set_mtu", ["eth0", 1400], {}, log)
        perform(k, "set_mtu", ["eth0", 1500], {}, log)

    samples = []
    for _ in range(200):
        start = time.perf_counter()
        direct()
        samples.append(time.perf_counter() - start)
    baseline = statistics.mean(samples)
    benchmark.pedantic(dispatched, rounds=200, iterations=1, warmup_rounds=5)
    benchmark.extra_info["ratio_vs_direct"] = round(benchmark.stats.stats.mean / baseline, 3)
