from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from sggit.kernel.session import create_mock_state, mock_session
from tests.helpers import sg


def test_mock_state_persists_between_invocations(tmp_path: Path) -> None:
    state = str(tmp_path / "k.json")
    sg("kernel", "mock-init", state, "--nics", "2", "--reflecting-switch")
    sg("kernel", "call", "create_bridge", '["br0"]', "--mock", state)
    sg("kernel", "call", "add_port", '{"bridge": "br0", "port": "eth0"}', "--mock", state)
    sg("kernel", "call", "set_link_up", '["br0"]', "--mock", state)
    sg("kernel", "call", "remove_port", '["br0", "eth0"]', "--mock", state, code=None)
    sg("kernel", "call", "add_port", '["br0", "eth1"]', "--mock", state, code=None)
    fdb = json.loads(sg("kernel", "call", "fdb", '["br0"]', "--mock", state, code=None).output)
    mac = json.loads(sg("kernel", "call", "get_link", '["br0"]', "--mock", state, code=None).output)["mac"]
    assert {e["port"] for e in fdb if e["mac"] == mac and not e["local"]} == {"eth0", "eth1"}


def test_json_nested_past_the_limit_is_located_not_a_crash(tmp_path: Path) -> None:
    """`kernel call` and `kernel inject` read JSON as `--input` does: too deep is the caller's error, at its place."""
    state = str(tmp_path / "k.json")
    sg("kernel", "mock-init", state)
    deep = "[" * 60000 + "]" * 60000
    called = sg("kernel", "call", "get_link", deep, "--mock", state, code=2)
    assert "sggit: error: ARGUMENTS:1:201: JSON nested 60000 levels deep; at most 200 are accepted" in called.output
    injected = sg("kernel", "inject", "link_down", f"dev={deep}", "--mock", state, code=2)
    assert "sggit: error: dev:1:201: JSON nested 60000 levels deep" in injected.output
    assert "Traceback" not in called.output + injected.output
    assert "injected link_down" in sg("kernel", "inject", "link_down", "dev=eth0", "--mock", state).output


def test_user_mistakes_exit_without_traceback(tmp_path: Path) -> None:
    state = str(tmp_path / "k.json")
    missing = sg("kernel", "call", "list_links", "--mock", state, code=2)
    assert "no mock kernel state" in missing.output
    sg("kernel", "mock-init", state, code=None)
    again = sg("kernel", "mock-init", state, code=2)
    assert "already exists" in again.output
    bad_op = sg("kernel", "call", "__class__", "--mock", state, code=2)
    assert "unknown operation" in bad_op.output
    bad_json = sg("kernel", "call", "get_link", "[eth0", "--mock", state, code=2)
    assert "not JSON" in bad_json.output
    unbound = sg("kernel", "call", "create_bridge", '{"nme": "x"}', "--mock", state, code=2)
    assert "create_bridge(name, stp): missing a required argument: 'name'" in unbound.output
    bad_name = sg("kernel", "call", "create_bridge", "[5]", "--mock", state, code=2)
    assert "interface name must be a non-empty string, got 5" in bad_name.output
    sg("kernel", "call", "create_bridge", '["br0"]', "--mock", state, code=None)
    exists = sg("kernel", "call", "create_bridge", '["br0"]', "--mock", state, code=1)  # the host said no: not a usage error
    assert "br0 already exists" in exists.output
    refused = sg("kernel", "call", "delete_link", '["eth0"]', "--mock", state, code=1)
    assert "cannot be deleted" in refused.output
    no_dev = sg("kernel", "inject", "link_down", "--mock", state, code=2)
    assert "needs dev=" in no_dev.output
    assert "Traceback" not in "".join(r.output for r in (missing, again, bad_op, bad_json, unbound, bad_name, exists, refused, no_dev))


def test_a_damaged_mock_state_is_named_with_the_json_path_it_breaks(tmp_path: Path) -> None:
    state = tmp_path / "k.json"
    state.write_text('{"links": {"eth0": {"name": "eth0", "mtu": "big"}}}')
    bad = sg("kernel", "call", "list_links", "--mock", str(state), code=2)
    assert f"{state} is not a mock kernel state file: links.eth0." in bad.output and "validation error" not in bad.output
    assert "sggit kernel mock-init" in bad.output
    state.write_text("{not json")
    torn = sg("kernel", "call", "list_links", "--mock", str(state), code=2)
    assert "Invalid JSON: key must be a string at line 1 column 2" in torn.output


def test_injection_through_the_cli(tmp_path: Path) -> None:
    state = str(tmp_path / "k.json")
    sg("kernel", "mock-init", state, code=None)
    sg("kernel", "inject", "link_down", "dev=eth1", "--mock", state)
    link = json.loads(sg("kernel", "call", "get_link", '["eth1"]', "--mock", state, code=None).output)
    assert link["carrier"] is False


def test_features_lists_every_feature_and_the_installed_domains() -> None:
    out = json.loads(sg("kernel", "features", "--format", "json", code=None).output)
    assert [c["name"] for c in out["features"]] == ["kernel.netlink", "kernel.netns", "kernel.veth", "kernel.bridge", "kernel.bond", "kernel.vlan"]
    network = next(d for d in out["domains"] if d["name"] == "network")
    assert network["ok"] and network["kernel_kinds"] == ["mock", "netlink"] and "bridge" in network["resource_kinds"]
    text = sg("kernel", "features", code=None).output
    assert "domain.network" in text and "kernels: mock, netlink" in text
    doctor = sg("doctor", code=None).output
    for name in ("kernel.bridge", "kernel.bond", "domain.network"):  # the same line, word for word, as doctor prints it
        line = next(line for line in text.splitlines() if f" {name} " in line)
        assert line.split() == next(line for line in doctor.splitlines() if f" {name} " in line).split()


@pytest.mark.netns
def test_features_inside_a_namespace_try_links_there_and_leave_none(netns) -> None:
    before = {dev["ifname"] for dev in netns.ip("link", "show")}
    out = json.loads(sg("kernel", "features", "--netns", netns.host, "--format", "json", code=None).output)
    found = {c["name"]: c for c in out["features"]}
    assert out["netns"] == netns.host
    assert found["kernel.bridge"]["ok"] and found["kernel.veth"]["ok"]
    assert netns.host in found["kernel.netlink"]["detail"]
    assert {dev["ifname"] for dev in netns.ip("link", "show")} == before


def test_features_in_a_missing_namespace_is_a_usage_error() -> None:
    result = sg("kernel", "features", "--netns", "sgk-no-such-ns", code=2)
    assert "network namespace 'sgk-no-such-ns' does not exist" in result.output
    assert "Traceback" not in result.output


def test_concurrent_sessions_lose_nothing(tmp_path: Path) -> None:
    state = tmp_path / "k.json"
    create_mock_state(state)

    def add(i: int) -> None:
        with mock_session(state) as kernel:
            kernel.add_address("eth0", f"10.0.{i}.1/24")

    threads = [threading.Thread(target=add, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with mock_session(state) as kernel:
        assert len(kernel.list_addresses("eth0")) == 16
