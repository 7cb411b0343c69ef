"""Shadow replay on a real kernel runs on a mock host holding that kernel's topology, never on the kernel itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sggit.kernel import kinds
from sggit.kernel.kinds import KernelTarget
from sggit.kernel.mock import MockKernel
from sggit.kernel.netlink import NetlinkKernel

pytestmark = pytest.mark.netns


def ip(ns: str, *args: str) -> None:
    subprocess.run(["ip", "-n", ns, *args], check=True, capture_output=True, text=True)


def test_the_netlink_shadow_replicates_the_hosts_bridges_ports_macs_and_addresses(netns) -> None:  # type: ignore[no-untyped-def]
    host = netns.host
    ip(host, "link", "add", "mgmt", "type", "bridge", "stp_state", "0")
    ip(host, "link", "set", "eth0", "master", "mgmt")
    ip(host, "link", "set", "mgmt", "address", "02:00:00:00:77:01", "up")
    ip(host, "addr", "add", "10.77.0.10/24", "dev", "mgmt")
    ip(host, "route", "add", "default", "via", "10.77.0.1")
    target = KernelTarget(phenotype="lab", state_dir=Path("/nonexistent"))
    with NetlinkKernel(host) as live:
        replica = kinds.get("netlink").shadow(live, target)
        live_links = {link["name"]: link for link in live.list_links()}
        first, second = replica(), replica()

    assert isinstance(first, MockKernel) and first is not second
    links = {link["name"]: link for link in first.list_links()}
    assert set(links) == {"eth0", "eth1", "mgmt"}
    assert links["mgmt"]["kind"] == "bridge" and links["mgmt"]["mac"] == "02:00:00:00:77:01" and links["mgmt"]["up"]
    assert [p["name"] for p in first.list_ports("mgmt")] == ["eth0"] and links["eth0"]["master"] == "mgmt"
    assert all(links[nic]["mac"] == live_links[nic]["mac"] for nic in ("eth0", "eth1"))
    assert "10.77.0.10/24" in first.list_addresses("mgmt") and first.default_gateway() == "10.77.0.1"
    assert first.get_stp("mgmt")["enabled"] is False

    # a replay that tears the copy down leaves the real host as it was
    first.delete_bridge("mgmt")
    with NetlinkKernel(host) as live:
        assert "mgmt" in {link["name"] for link in live.list_links()}
    assert "mgmt" in {link["name"] for link in second.list_links()}
