from __future__ import annotations

import subprocess

import pytest

from sggit.kernel.api import KernelError
from sggit.kernel.features import FEATURES, doctor_checks, kernel_features
from sggit.kernel.netlink import NetlinkKernel


def test_doctor_lists_every_feature_with_a_reason() -> None:
    checks = doctor_checks()
    assert [c.name for c in checks] == [f"kernel.{f}" for f in FEATURES]
    for check in checks:
        assert isinstance(check.ok, bool) and check.detail
    found = kernel_features()
    assert {c.name.removeprefix("kernel."): c.ok for c in checks} == found


def test_detection_leaves_no_scratch_namespace_behind() -> None:
    kernel_features()
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "sggit-probe-" not in names


@pytest.mark.netns
def test_detected_features_agree_with_what_the_kernel_does(netns) -> None:
    found = kernel_features()
    assert found["netns"] and found["veth"]
    with NetlinkKernel(netns.host) as k:
        for kind, make in (
            ("bridge", lambda: k.create_bridge("brx")),
            ("bond", lambda: k.create_bond("bondx", "active-backup", ["eth1"])),
            ("vlan", lambda: k.create_vlan("eth0", 42)),
        ):
            if found[kind]:
                assert make()["kind"] == kind
            else:
                with pytest.raises(KernelError, match="link type not supported"):
                    make()
