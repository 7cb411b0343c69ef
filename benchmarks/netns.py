"""A throwaway network namespace for benchmarks that compare netlink with `ip`."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def sh(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, check=True, capture_output=True)


@contextmanager
def throwaway_netns(prefix: str, *setup: tuple[str, ...]) -> Iterator[str]:
    """A namespace with a veth pair eth0/eth1 plus `setup` (ip arguments run inside it); skips without root."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces")
    name = f"{prefix}-{secrets.token_hex(3)}"
    try:
        sh("ip", "netns", "add", name)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"`ip netns add` failed: {exc.stderr.decode().strip()}")
    try:
        sh("ip", "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
        for args in setup:
            sh("ip", "-n", name, *args)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
