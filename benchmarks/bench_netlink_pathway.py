"""A whole management-bridge pathway on the netlink kernel against the same changes made with `ip`.

The organism's round is `sggit run provision_management_bridge` as a library
call: phenotype lookup, four loci in sandbox workers, contract validation,
fitness records, the undo log, the step-4 diagnostic. The baseline is the bare
`ip` commands that leave the namespace in the same state (bridge, port, MAC,
UP) plus one `ip -j link show` standing in for the check. Both run in the same
throwaway namespace in the same run; the bridge is deleted between rounds,
outside the timing. The ratio lands in extra_info (`ratio_vs_ip`).

Run: pytest benchmarks/bench_netlink_pathway.py --benchmark-only
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import sh, throwaway_netns

from sggit.contract.tree import load_tree
from sggit.genome.init import init_project
from sggit.genome.repo import Genome
from sggit.kernel.netlink import NetlinkKernel
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import SandboxConfig, WorkerPool

ROUNDS = 15
INPUT = {"management_bridge": "mgmt", "uplink_interface": "eth0", "stp_enabled": False}



@pytest.fixture(scope="module")
def ns() -> Iterator[str]:
    with throwaway_netns("sgk-pbench", ("link", "set", "eth1", "up")) as name:
        yield name


def _reset(ns: str) -> None:
    subprocess.run(["ip", "-n", ns, "link", "del", "mgmt"], check=False, capture_output=True)
    sh("ip", "-n", ns, "link", "set", "eth0", "down")


def _ip_round(ns: str, mac: str) -> None:
    for command in (
        ["link", "add", "mgmt", "type", "bridge", "stp_state", "0"],
        ["link", "set", "mgmt", "up"],
        ["link", "set", "eth0", "master", "mgmt"],
        ["link", "set", "eth0", "up"],
        ["link", "set", "mgmt", "address", mac],
    ):
        sh("ip", "-n", ns, *command)
    json.loads(sh("ip", "-n", ns, "-j", "link", "show", "dev", "mgmt").stdout)


def test_management_bridge_pathway(benchmark, ns: str, tmp_path_factory: pytest.TempPathFactory) -> None:  # type: ignore[no-untyped-def]
    root: Path = tmp_path_factory.mktemp("genome") / "g"
    init_project(root)
    genome = Genome.open(root)
    mac = json.loads(sh("ip", "-n", ns, "-j", "link", "show", "dev", "eth0").stdout)[0]["address"]
    with NetlinkKernel(ns) as kernel, WorkerPool(SandboxConfig(), size=2) as pool:
        org = Organism(genome, load_tree(root / "contracts"), "dell_r740", kernel, pool, wait_verify=False, timeout=20.0)

        def one_run() -> None:
            org.trace.clear()
            assert org.run("provision_management_bridge", INPUT).ok

        benchmark.pedantic(one_run, setup=lambda: _reset(ns), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    samples = []
    for _ in range(ROUNDS):
        _reset(ns)
        start = time.perf_counter()
        _ip_round(ns, mac)
        samples.append(time.perf_counter() - start)
    baseline = statistics.mean(samples)
    benchmark.extra_info["ip_mean_s"] = baseline
    benchmark.extra_info["ratio_vs_ip"] = round(benchmark.stats.stats.mean / baseline, 4)


WAIT_ROUNDS = 2


def monitoring_seconds(tree, pathway: str) -> float:  # type: ignore[no-untyped-def]
    """The verify checks' own monitoring time in one run: each check's `monitor_seconds` (or its default)."""
    from sggit.contract import nodes as n

    def own(locus: str, args: list[n.Arg]) -> float:
        given = {a.name: a.value for a in args}
        field = next((f for f in tree.genes[locus].takes if f.name == "monitor_seconds"), None)
        if field is None:
            return 0.0
        value = given.get("monitor_seconds", field.default)
        return float(getattr(value, "value", value) or 0)

    def block(verify: n.Verify | None) -> float:
        return sum(own(item.locus, item.args) for item in (verify.items if verify else []) if isinstance(item, n.Check))

    total = block(tree.pathways[pathway].verify)
    for step in tree.pathways[pathway].steps:
        if isinstance(step.body, n.Call) and step.body.target in tree.genes:
            total += block(tree.genes[step.body.target].verify)
    return total


def test_management_bridge_pathway_with_its_verify_windows(benchmark, ns: str, tmp_path_factory: pytest.TempPathFactory) -> None:  # type: ignore[no-untyped-def]
    """STP off, windows waited for: the run against the sum of its checks' own monitoring time.

    Windows are deadlines, so a healthy run costs its diagnostics' monitoring
    (check_fdb_stability twice, check_mac_stability once, 10 s each) and little
    else; the pathway's window opens at its final mutation (mac_preserve), so
    its check_fdb_stability watches alongside mac_preserve's check_mac_stability
    and the run costs two of the three.
    """
    root: Path = tmp_path_factory.mktemp("genome") / "g"
    init_project(root)
    genome = Genome.open(root)
    tree = load_tree(root / "contracts")
    baseline = monitoring_seconds(tree, "provision_management_bridge")
    with NetlinkKernel(ns) as kernel, WorkerPool(SandboxConfig(), size=2) as pool:
        org = Organism(genome, tree, "dell_r740", kernel, pool, wait_verify=True, timeout=20.0)

        def one_run() -> None:
            org.trace.clear()
            result = org.run("provision_management_bridge", INPUT)
            assert result.ok and result.verification is not None and result.verification["healthy"]

        benchmark.pedantic(one_run, setup=lambda: _reset(ns), rounds=WAIT_ROUNDS, iterations=1, warmup_rounds=0)
    benchmark.extra_info["monitoring_s"] = baseline
    benchmark.extra_info["ratio_vs_monitoring"] = round(benchmark.stats.stats.mean / baseline, 4)
    benchmark.extra_info["target_s"] = 20.0
    mean = benchmark.stats.stats.mean
    print(f"\nprovision_management_bridge, STP off, windows waited for: {mean:.2f} s, "
          f"{mean / baseline:.2f}x the {baseline:g} s its checks monitor on their own (target 20 s)")
