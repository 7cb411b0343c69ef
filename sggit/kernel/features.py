"""What this machine's kernel can do, found by trying it in a scratch namespace.

Module lists and /proc lie in both directions (modules autoload; containers hide
them), so the only honest test is to create a throwaway link of each type in a
namespace of our own and delete the namespace afterwards.
"""

from __future__ import annotations

import errno
import functools
import os
import secrets
from typing import NamedTuple

FEATURES = ("netlink", "netns", "veth", "bridge", "bond", "vlan")


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str
    optional: bool = False


# Link types genes may use; a kernel without one is reported, and sggit still works.
OPTIONAL_LINK_TYPES = ("veth", "bridge", "bond", "vlan")


def _reason(exc: BaseException) -> str:
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    if code in (errno.EOPNOTSUPP, errno.ENOTSUP):
        return "link type not supported by this kernel"
    if code == errno.EPERM:
        return "not permitted (needs root / CAP_NET_ADMIN)"
    if isinstance(code, int):
        return os.strerror(code)
    return str(exc) or type(exc).__name__


@functools.cache
def probe_features() -> dict[str, tuple[bool, str]]:
    """Each feature with whether it works and, when it does not, why."""
    from pyroute2 import IPRoute, netns

    found: dict[str, tuple[bool, str]] = {}
    try:
        with IPRoute() as ipr:
            ipr.get_links()
        found["netlink"] = (True, "rtnetlink answers")
    except Exception as exc:  # noqa: BLE001 - every failure is a finding here
        found["netlink"] = (False, _reason(exc))

    scratch = f"sggit-probe-{secrets.token_hex(3)}"
    try:
        ipr = IPRoute(netns=scratch)
    except Exception as exc:  # noqa: BLE001
        why = _reason(exc)
        found["netns"] = (False, why)
        for feature in ("veth", "bridge", "bond", "vlan"):
            found[feature] = (False, f"untested: no scratch namespace ({why})")
        return found
    found["netns"] = (True, "scratch namespace created and removed")
    try:
        attempts = {
            "veth": dict(ifname="p-veth0", kind="veth", peer={"ifname": "p-veth1"}),
            "bridge": dict(ifname="p-br", kind="bridge"),
            "bond": dict(ifname="p-bond", kind="bond"),
        }
        for feature, spec in attempts.items():
            try:
                ipr.link("add", **spec)
                found[feature] = (True, f"created a {feature} link")
            except Exception as exc:  # noqa: BLE001
                found[feature] = (False, _reason(exc))
        parent = ipr.link_lookup(ifname="p-veth0")
        if not parent:
            found["vlan"] = (False, "untested: no veth to put a VLAN on")
        else:
            try:
                ipr.link("add", ifname="p-vlan", kind="vlan", link=parent[0], vlan_id=10)
                found["vlan"] = (True, "created an 802.1Q link")
            except Exception as exc:  # noqa: BLE001
                found["vlan"] = (False, _reason(exc))
    finally:
        ipr.close()
        try:
            netns.remove(scratch)
        except OSError:
            pass
    return found


def kernel_features() -> dict[str, bool]:
    return {name: ok for name, (ok, _) in probe_features().items()}


def doctor_checks() -> list[Check]:
    """Provider for `sggit doctor`: one line per kernel feature genes may need."""
    found = probe_features()
    return [Check(f"kernel.{name}", *found[name], optional=name in OPTIONAL_LINK_TYPES) for name in FEATURES]
