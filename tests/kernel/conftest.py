"""Fixtures: a fresh mock kernel, and throwaway network namespaces wired like a host.

The netns fixture builds a host namespace with NICs eth0 and eth1 (veth), whose
peers sw0 and sw1 sit in a second namespace on a Linux bridge `upstream`: that
namespace is the upstream switch and gateway (10.77.0.1/24). Both namespaces get
a random suffix and are deleted in teardown whatever the test did.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sggit.kernel.mock import MockKernel, default_description

GATEWAY = "10.77.0.1"


@pytest.fixture
def mock() -> MockKernel:
    return MockKernel(default_description())


@pytest.fixture
def reflecting_mock() -> MockKernel:
    return MockKernel(default_description(reflecting_switch=True))


def _sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


@dataclass
class Namespaces:
    host: str
    peer: str
    gateway: str = GATEWAY

    def ip(self, *args: str, ns: str | None = None) -> Any:
        """`ip -j` in the host namespace (or `ns`), parsed."""
        out = _sh("ip", "-n", ns or self.host, "-j", *args).stdout
        return json.loads(out) if out.strip() else []

    def bridge(self, *args: str, ns: str | None = None) -> Any:
        out = _sh("bridge", "-n", ns or self.host, "-j", *args).stdout
        return json.loads(out) if out.strip() else []

    def link(self, name: str, ns: str | None = None) -> dict:
        return self.ip("-d", "link", "show", "dev", name, ns=ns)[0]


def _netns_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    probe = f"sgk-check-{secrets.token_hex(3)}"
    result = _sh("ip", "netns", "add", probe, check=False)
    if result.returncode != 0:
        return f"`ip netns add` failed: {result.stderr.strip()}"
    _sh("ip", "netns", "del", probe, check=False)
    return None


_REASON: list[str | None] = []


def netns_skip_reason() -> str | None:
    if not _REASON:
        _REASON.append(_netns_unavailable())
    return _REASON[0]


@pytest.fixture
def netns() -> Iterator[Namespaces]:
    reason = netns_skip_reason()
    if reason:
        pytest.skip(reason)
    suffix = secrets.token_hex(3)
    ns = Namespaces(host=f"sgk-h-{suffix}", peer=f"sgk-p-{suffix}")
    try:
        _sh("ip", "netns", "add", ns.host)
        _sh("ip", "netns", "add", ns.peer)
        for name in (ns.host, ns.peer):  # no IPv6 chatter: the host speaks only when a test makes it
            for scope in ("all", "default"):
                _sh("ip", "netns", "exec", name, "sysctl", "-qw", f"net.ipv6.conf.{scope}.disable_ipv6=1")
        p = ns.peer
        _sh("ip", "-n", p, "link", "add", "upstream", "type", "bridge")
        for i in (0, 1):
            _sh("ip", "-n", ns.host, "link", "add", f"eth{i}", "type", "veth", "peer", "name", f"sw{i}", "netns", p)
            _sh("ip", "-n", p, "link", "set", f"sw{i}", "master", "upstream", "up")
            _sh("ip", "-n", ns.host, "link", "set", f"eth{i}", "up")
        _sh("ip", "-n", p, "addr", "add", f"{GATEWAY}/24", "dev", "upstream")
        _sh("ip", "-n", p, "link", "set", "upstream", "up")
        _sh("ip", "-n", p, "link", "set", "lo", "up")
        yield ns
    finally:
        _sh("ip", "netns", "del", ns.host, check=False)
        _sh("ip", "netns", "del", ns.peer, check=False)
