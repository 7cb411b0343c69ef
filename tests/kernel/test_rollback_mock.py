"""Any sequence of successful mutating calls, rolled back, leaves the kernel as it was."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sggit.kernel.api import KernelError
from sggit.kernel.dispatch import perform
from sggit.kernel.mock import MockKernel, default_description
from sggit.kernel.undo import UndoLog

NAMES = ["eth0", "eth1", "eth2", "br0", "br1", "bond0", "eth0.10", "bond0.10", "br0.10"]


def snapshot(k: MockKernel) -> dict:
    links = {}
    for link in k.list_links():
        link = dict(link)
        link.pop("index")
        name = link["name"]
        links[name] = link
        links[name]["addresses"] = sorted(k.list_addresses(name))
        if link["kind"] == "bridge":
            links[name]["stp"] = k.get_stp(name)
            links[name]["ports"] = k.list_ports(name)
        if link["kind"] == "bond":
            bond = k.get_bond(name)
            links[name]["bond"] = (bond["mode"], [m["name"] for m in bond["members"]], bond["miimon"])
    return links


name = st.sampled_from(NAMES)
calls = st.one_of(
    st.tuples(st.just("create_bridge"), st.tuples(st.sampled_from(["br0", "br1"]), st.booleans())),
    st.tuples(st.just("delete_bridge"), st.tuples(st.sampled_from(["br0", "br1"]))),
    st.tuples(st.just("delete_link"), st.tuples(name)),
    st.tuples(st.just("add_port"), st.tuples(st.sampled_from(["br0", "br1"]), name)),
    st.tuples(st.just("remove_port"), st.tuples(st.sampled_from(["br0", "br1"]), name)),
    st.tuples(st.just("set_link_up"), st.tuples(name)),
    st.tuples(st.just("set_link_down"), st.tuples(name)),
    st.tuples(st.just("set_mac"), st.tuples(name, st.sampled_from(["02:00:00:00:00:01", "02:00:00:00:00:02"]))),
    st.tuples(st.just("set_mtu"), st.tuples(name, st.sampled_from([1400, 1500, 9000]))),
    st.tuples(st.just("set_stp"), st.tuples(st.sampled_from(["br0", "br1"]), st.booleans(), st.sampled_from([4, 15]))),
    st.tuples(st.just("create_bond"), st.tuples(st.just("bond0"), st.just("active-backup"), st.lists(st.sampled_from(["eth1", "eth2"]), min_size=1, max_size=2, unique=True))),
    st.tuples(st.just("delete_bond"), st.tuples(st.just("bond0"))),
    st.tuples(st.just("create_vlan"), st.tuples(st.sampled_from(["eth0", "bond0", "br0"]), st.just(10))),
    st.tuples(st.just("add_address"), st.tuples(name, st.sampled_from(["192.0.2.10/24", "198.51.100.1/24"]))),
    st.tuples(st.just("remove_address"), st.tuples(name, st.sampled_from(["192.0.2.10/24", "198.51.100.1/24"]))),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(calls, max_size=20))
def test_rollback_restores_the_start(sequence: list) -> None:
    k = MockKernel(default_description())
    k.add_address("eth2", "192.0.2.10/24")
    k.create_bridge("br0", stp=True)
    k.set_stp("br0", True, forward_delay=4)
    k.add_port("br0", "eth0")
    k.set_link_up("br0")
    k.set_mac("br0", "02:00:00:00:00:07")
    k.add_address("br0", "198.51.100.1/24")
    start = snapshot(k)
    log = UndoLog()
    applied = 0
    for op, args in sequence:
        try:
            perform(k, op, list(args), {}, log)
            applied += 1
        except KernelError:
            pass
    assert len(log) == applied
    assert log.rollback(k) == []
    assert snapshot(k) == start
