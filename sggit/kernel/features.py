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
from typing import Any, NamedTuple

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


def _try_links(ipr: Any, prefix: str) -> dict[str, tuple[bool, str]]:
    """Create and delete one throwaway link of each type through `ipr`."""
    found: dict[str, tuple[bool, str]] = {}
    names = {f: f"{prefix}{f[:2]}" for f in ("veth", "bridge", "bond", "vlan")}
    attempts: dict[str, dict[str, Any]] = {
        "veth": {"ifname": names["veth"], "kind": "veth", "peer": {"ifname": f"{prefix}vp"}},
        "bridge": {"ifname": names["bridge"], "kind": "bridge"},
        "bond": {"ifname": names["bond"], "kind": "bond"},
    }
    made: list[str] = []
    try:
        for feature, spec in attempts.items():
            try:
                ipr.link("add", **spec)
                made.append(str(spec["ifname"]))
                found[feature] = (True, f"created a {feature} link")
            except Exception as exc:  # noqa: BLE001 - every failure is a finding here
                found[feature] = (False, _reason(exc))
        parent = ipr.link_lookup(ifname=names["veth"])
        if not parent:
            found["vlan"] = (False, "untested: no veth to put a VLAN on")
        else:
            try:
                ipr.link("add", ifname=names["vlan"], kind="vlan", link=parent[0], vlan_id=10)
                made.insert(0, names["vlan"])
                found["vlan"] = (True, "created an 802.1Q link")
            except Exception as exc:  # noqa: BLE001
                found["vlan"] = (False, _reason(exc))
    finally:
        for name in made:
            try:
                ipr.link("del", ifname=name)
            except Exception:  # noqa: BLE001, S110 - gone with its parent, or never fully made
                pass
    return found


@functools.cache
def probe_features(netns: str | None = None) -> dict[str, tuple[bool, str]]:
    """Each feature with whether it works and, when it does not, why.

    Without `netns` the links are tried in a scratch namespace made and removed
    here; with it, inside that existing namespace (never created behind the
    user's back), under throwaway names that are deleted again.
    """
    from pyroute2 import IPRoute
    from pyroute2 import netns as pyroute_netns

    found: dict[str, tuple[bool, str]] = {}
    if netns is not None:
        from sggit.kernel.netlink import netns_exists

        if not netns_exists(netns):
            why = f"network namespace {netns!r} does not exist (see `ip netns list`)"
            return {f: (False, why) for f in FEATURES}
        try:
            ipr = IPRoute(netns=netns, flags=0)
        except Exception as exc:  # noqa: BLE001
            why = _reason(exc)
            return {f: (False, why) for f in FEATURES}
        try:
            ipr.get_links()
            found["netlink"] = (True, f"rtnetlink answers in {netns}")
            found["netns"] = (True, f"acting inside {netns}")
            found.update(_try_links(ipr, f"sgp{secrets.token_hex(2)}"))
        finally:
            ipr.close()
        return found

    try:
        with IPRoute() as host:
            host.get_links()
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
        found.update(_try_links(ipr, "p-"))
    finally:
        ipr.close()
        try:
            pyroute_netns.remove(scratch)
        except OSError:
            pass
    return found


def kernel_features(netns: str | None = None) -> dict[str, bool]:
    return {name: ok for name, (ok, _) in probe_features(netns).items()}


def doctor_checks(netns: str | None = None) -> list[Check]:
    """Provider for `sggit doctor`: one line per kernel feature genes may need."""
    found = probe_features(netns)
    return [Check(f"kernel.{name}", *found[name], optional=name in OPTIONAL_LINK_TYPES) for name in FEATURES]
