from __future__ import annotations

import os

import pytest

from sggit.doctor import run_checks


@pytest.mark.skipif(os.geteuid() != 0, reason="probing link types needs root")
def test_doctor_lists_the_kernels_link_types() -> None:
    checks = {c.name: c for c in run_checks(["sggit.kernel.checks"])}
    assert {"kernel.netlink", "kernel.netns", "kernel.veth", "kernel.bridge", "kernel.bond", "kernel.vlan"} <= set(checks)
    assert checks["kernel.bridge"].ok and checks["kernel.veth"].ok
    for name in ("kernel.bond", "kernel.vlan"):
        if not checks[name].ok:
            assert "not supported by this kernel" in checks[name].detail
