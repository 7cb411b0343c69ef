"""Interface names are judged as Linux judges them, the same on every kernel.

IFNAMSIZ counts bytes: a 15-character name of two-byte characters is 30 bytes and
the kernel refuses it. A NUL would cut the name short on the wire, so netlink
would create a different interface than the gene asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sggit.kernel.api import Kernel, KernelError
from sggit.kernel.dispatch import perform
from sggit.kernel.mock import MockKernel, default_description

BAD = {
    "30 bytes": "é" * 15,
    "colon": "a:b",
    "nul": "ev\0il",
    "slash": "a/b",
    "space": "a b",
    "tab": "a\tb",
    "16 bytes": "x" * 16,
}
GOOD = ["x" * 15, "é" * 7, "br-mgmt.10"]


@pytest.fixture(params=["mock", "netlink"])
def kernel(request: pytest.FixtureRequest) -> Iterator[Kernel]:
    if request.param == "mock":
        yield MockKernel(default_description())
        return
    netns = request.getfixturevalue("netns")
    from sggit.kernel.netlink import NetlinkKernel

    with NetlinkKernel(netns.host) as k:
        yield k


@pytest.mark.parametrize("label", sorted(BAD))
def test_bad_names_are_refused_before_anything_changes(kernel: Kernel, label: str) -> None:
    before = sorted(link["name"] for link in kernel.list_links())
    with pytest.raises(KernelError, match="interface name"):
        perform(kernel, "create_bridge", [BAD[label]])
    with pytest.raises(KernelError, match="interface name"):
        perform(kernel, "get_link", [BAD[label]])
    assert sorted(link["name"] for link in kernel.list_links()) == before


def test_names_the_kernel_takes_are_taken(kernel: Kernel) -> None:
    for name in GOOD:
        assert perform(kernel, "create_bridge", [name])["name"] == name
        assert perform(kernel, "get_link", [name])["name"] == name
        assert perform(kernel, "delete_bridge", [name]) is True
