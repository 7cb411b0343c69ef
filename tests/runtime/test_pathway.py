"""Pathway semantics with a recording in-process invoker standing in for the organism."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from sggit.contract.tree import ContractTree, load_tree
from sggit.errors import UsageError
from sggit.runtime.pathway import PathwayRunner, StepOutcome
from sggit.shipped import shipped_root
from tests.contract.helpers import sg


class Recorder:
    """Runs loci by answering from a table; records calls, undo order and overlap."""

    def __init__(self, fail: set[str] | None = None, outputs: dict[str, Any] | None = None, delay: float = 0.0) -> None:
        self.fail = fail or set()
        self.outputs = outputs or {}
        self.delay = delay
        self.calls: list[tuple[str, dict]] = []
        self.undone: list[str] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()

    def __call__(self, locus: str, params: dict[str, Any]) -> StepOutcome:
        with self.lock:
            self.calls.append((locus, params))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        time.sleep(self.delay)
        with self.lock:
            self.active -= 1
        key = f"{locus}:{params.get('bridge_name') or params.get('vlan_id') or params.get('bond_name') or ''}"
        label = key.rstrip(":")

        def undo() -> list[str]:
            self.undone.append(label)
            return [] if "undo-breaks" not in label else [f"cannot undo {label}"]

        if locus in self.fail or key in self.fail:
            return StepOutcome(ok=False, error=f"{locus} failed", allele="a" * 40)
        output = self.outputs.get(locus, {"success": True, "healthy": True})
        if callable(output):
            output = output(params)
        return StepOutcome(ok=True, output=output, allele="b" * 40, rollback=undo)


@pytest.fixture(scope="module")
def shipped() -> ContractTree:
    return load_tree(shipped_root() / "contracts")


def with_extra(text: str) -> ContractTree:
    tree = load_tree(shipped_root() / "contracts")
    tree.add_text(sg(text), "extra.sg")
    assert not tree.diagnostics
    return tree


def test_linear_pathway_binds_inputs_in_order(shipped: ContractTree) -> None:
    rec = Recorder()
    result = PathwayRunner(shipped, rec).run("create_verified_bridge", {"bridge_name": "br0", "interfaces": ["eth0"]})
    assert result.ok
    assert rec.calls == [("bridge_create", {"bridge_name": "br0", "interfaces": ["eth0"]}), ("check_link_state", {"device": "br0"})]
    assert [s.status for s in result.steps] == ["ok", "ok"]


def test_bad_input_is_the_callers_error_with_paths(shipped: ContractTree) -> None:
    with pytest.raises(UsageError) as info:
        PathwayRunner(shipped, Recorder()).run("create_verified_bridge", {"bridge_name": 5})
    assert "bridge_name: expected string, got int" in str(info.value)
    assert "interfaces: required field is missing" in str(info.value)


def test_step_outputs_and_templates_flow_into_later_steps(shipped: ContractTree) -> None:
    rec = Recorder(outputs={"vlan_create": lambda p: {"success": True, "interface": f"{p['parent_interface']}.{p['vlan_id']}"}})
    result = PathwayRunner(shipped, rec).run("provision_vlan_bridge", {"parent_interface": "bond0", "vlan_id": 100})
    assert result.ok
    assert rec.calls[1] == ("bridge_create", {"bridge_name": "vmbr100", "interfaces": ["bond0.100"], "stp_enabled": False})
    assert rec.calls[2] == ("check_vlan_tagging", {"interface": "bond0.100"})


def test_composed_pathway_with_loop_and_dependencies(shipped: ContractTree) -> None:
    rec = Recorder(outputs={"vlan_create": lambda p: {"success": True, "interface": f"storage.{p['vlan_id']}"}})
    result = PathwayRunner(shipped, rec).run(
        "deploy_server_network", {"management_nic": "eno1", "storage_nics": ["eno2", "eno3"], "vm_vlans": [100, 200]}
    )
    assert result.ok, result.as_json()
    loci = [c[0] for c in rec.calls]
    assert loci.count("vlan_create") == 2 and loci.count("bond_create") == 1
    # step 3 needs step 2: every VLAN comes after the bond's check
    assert loci.index("vlan_create") > loci.index("check_bond_state")
    assert ("bond_create", {"bond_name": "storage", "members": ["eno2", "eno3"], "mode": "active-backup", "miimon": 100}) not in rec.calls
    assert ("bond_create", {"bond_name": "storage", "members": ["eno2", "eno3"], "mode": "active-backup"}) in rec.calls
    assert len(result.steps[2].output) == 2


def test_independent_steps_run_concurrently(shipped: ContractTree) -> None:
    rec = Recorder(delay=0.05, outputs={"vlan_create": lambda p: {"success": True, "interface": "x"}})
    PathwayRunner(shipped, rec).run("deploy_server_network", {"management_nic": "eno1", "storage_nics": ["eno2"], "vm_vlans": []})
    assert rec.max_active >= 2


def test_when_step_picks_the_branch_from_an_earlier_output(shipped: ContractTree) -> None:
    flapping = Recorder(outputs={"check_fdb_stability": {"healthy": False}})
    result = PathwayRunner(shipped, flapping).run("health_check_bridge", {"bridge": "br0"})
    assert [c[0] for c in flapping.calls] == ["check_link_state", "check_fdb_stability", "check_connectivity"]
    assert flapping.calls[-1][1] == {"source_interface": "br0"}
    stable = Recorder(outputs={"check_fdb_stability": {"healthy": True}})
    PathwayRunner(shipped, stable).run("health_check_bridge", {"bridge": "br0"})
    assert stable.calls[-1] == ("check_mac_stability", {"bridge": "br0"})
    assert result.ok


def test_rollback_completed_steps_undoes_in_reverse(shipped: ContractTree) -> None:
    rec = Recorder(fail={"mac_preserve"})
    result = PathwayRunner(shipped, rec).run("provision_management_bridge", {"management_bridge": "mgmt", "uplink_interface": "eno1"})
    assert result.status == "failed"
    assert [s.status for s in result.steps] == ["ok", "ok", "failed", "not_run"]
    assert rec.undone == ["bridge_uplink", "bridge_create:mgmt"]
    assert [s.rolled_back for s in result.steps] == [True, True, False, False]
    assert "mac_preserve failed" in (result.steps[2].error or "")


def test_report_partial_keeps_what_succeeded() -> None:
    tree = with_extra("""
        pathway two_bridges
          takes:
            names  string[]  "n"
          steps:
            1. bridge_create
                 bridge_name = {names.0}
                 interfaces = []
            2. bridge_create
                 bridge_name = {names.1}
                 interfaces = []
          requires:
            step 2 needs step 1
          on failure:
            report partial
        """)
    rec = Recorder(fail={"bridge_create:b"})
    result = PathwayRunner(tree, rec).run("two_bridges", {"names": ["a", "b"]})
    assert result.status == "partial"
    assert rec.undone == []
    assert [s.status for s in result.steps] == ["ok", "failed"]


def test_preserve_what_works_runs_independent_steps_after_a_failure() -> None:
    tree = with_extra("""
        pathway three
          steps:
            1. bridge_create
                 bridge_name = a
                 interfaces = []
            2. bridge_create
                 bridge_name = b
                 interfaces = []
            3. check_link_state
                 device = {step 1.resources_created.0}
          requires:
            step 3 needs step 1
          on failure:
            preserve what works
            report what failed
        """)
    rec = Recorder(fail={"bridge_create:a"}, outputs={"bridge_create": lambda p: {"success": True, "resources_created": [p["bridge_name"]]}})
    result = PathwayRunner(tree, rec).run("three", {})
    assert [s.status for s in result.steps] == ["failed", "ok", "not_run"]
    assert result.status == "partial"
    assert "a step it needs did not succeed" in (result.steps[2].error or "")


def test_reference_past_the_end_fails_the_step_with_a_clear_error() -> None:
    tree = with_extra("""
        pathway p
          takes:
            nic  string[]  "n"
          steps:
            1. check_link_state
                 device = {nic.3}
        """)
    result = PathwayRunner(tree, Recorder()).run("p", {"nic": ["a"]})
    assert result.status == "failed"
    assert result.steps[0].error == "{nic.3}: index 3 is out of range (nic has 1 items)"


def test_undo_failures_are_reported_not_swallowed() -> None:
    tree = with_extra("""
        pathway p
          steps:
            1. bridge_create
                 bridge_name = undo-breaks
                 interfaces = []
            2. bridge_stp
                 bridge = x
                 enabled = true
          on failure:
            rollback all
        """)
    result = PathwayRunner(tree, Recorder(fail={"bridge_stp"})).run("p", {})
    assert result.rollback_errors == ["cannot undo bridge_create:undo-breaks"]
