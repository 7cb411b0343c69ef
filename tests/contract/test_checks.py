"""Semantic checks: every rule reports a located error, and the shipped genome passes."""

from __future__ import annotations

import pytest

from sggit.contract.checks import check_tree
from sggit.contract.errors import ContractError
from sggit.contract.tree import load_tree, read_tree
from sggit.shipped import shipped_root
from tests.contract.helpers import sg


def problems(text: str) -> list[tuple[int, int, str]]:
    """Diagnostics for `text` checked together with the shipped contracts."""
    tree = read_tree([shipped_root() / "contracts"])
    tree.add_text(sg(text), "extra.sg")
    diags = [d for d in tree.diagnostics + check_tree(tree) if d.path == "extra.sg"]
    return [(d.line, d.column, d.message) for d in diags]


def messages(text: str) -> list[str]:
    return [m for _, _, m in problems(text)]


def test_shipped_genome_is_clean() -> None:
    tree = load_tree(shipped_root() / "contracts")
    assert set(tree.genes) == {
        "bridge_create", "bridge_uplink", "bridge_stp", "mac_preserve", "bond_create", "vlan_create",
        "check_link_state", "check_connectivity", "check_mac_stability", "check_fdb_stability",
        "check_bond_state", "check_vlan_tagging",
    }
    assert set(tree.pathways) == {
        "create_verified_bridge", "provision_management_bridge", "provision_bond",
        "provision_vlan_bridge", "deploy_server_network", "health_check_bridge",
    }
    assert set(tree.topologies) == {"production_server"}


def test_unknown_locus_in_step_verify_and_feeds() -> None:
    got = problems("""
        gene d
          is diagnostic
          risk none
          gives:
            healthy  bool  "ok"
          feeds:
            bridge_craete  convergence

        pathway p
          steps:
            1. bridge_creat
          verify:
            check_lnk_state device=x
            within 5s
        """)
    assert (7, 5, "unknown locus bridge_craete in feeds") in got
    assert (11, 8, "unknown locus bridge_creat") in got
    assert (13, 5, "unknown locus check_lnk_state in verify") in got


def test_reference_to_nothing_and_to_later_steps() -> None:
    got = messages("""
        pathway p
          takes:
            name  string  "n"
          steps:
            1. check_link_state
                 device = {nmae}
            2. check_link_state
                 device = {step 3.state}
            3. check_link_state
                 device = {step 1.nope}
        """)
    assert "{nmae} refers to nothing this contract takes or produced" in got
    assert "{step 3.state}: step 3 does not run before step 2" in got
    assert "step 1 (check_link_state) gives no field nope" in got


def test_requires_cycle_and_missing_step() -> None:
    got = messages("""
        pathway p
          steps:
            1. check_link_state
                 device = a
            2. check_link_state
                 device = b
          requires:
            step 1 needs step 2
            step 2 needs step 1
            step 2 needs step 7
        """)
    assert "requires: dependency cycle step 1 -> step 2 -> step 1" in got
    assert "requires: there is no step 7" in got


def test_duplicate_fields_types_and_contracts() -> None:
    got = problems("""
        gene bridge_create
          is transform
          risk none

        gene g
          is transform
          risk none
          takes:
            a  int  "x"
            a  int  "y"
          types:
            t:
              f  int
            t:
              f  int
        """)
    msgs = [m for _, _, m in got]
    assert any(m.startswith("duplicate name bridge_create (first defined at ") for m in msgs)
    assert (10, 5, "duplicate field a in takes (first at line 9)") in got
    assert "duplicate type t" in msgs


def test_unknown_types_and_bad_defaults() -> None:
    got = messages("""
        gene g
          is transform
          risk none
          takes:
            a  strng              "x"
            b  int = "five"       "y"
            c  string[2..] = [x]  "z"
            d  bool? = null       "w"
            e  float = 3          "ints are floats too"
        """)
    assert "unknown type strng" in got
    assert "default of b does not match its type int: expected int, got string" in got
    assert "default of c does not match its type string[2..]: expected at least 2 items, got 1" in got
    assert not any("of d " in m or "of e " in m for m in got)


def test_phenotype_for_unknown_topology_and_bad_bindings() -> None:
    got = messages("""
        phenotype r1
          for production_sever

        phenotype r2
          for production_server
          nic = [eth0, eth1]
        """)
    assert "phenotype r1 is for unknown topology production_sever" in got
    assert "nic: expected at least 3 items, got 2" in got


def test_resources_referencing_unknown_resources() -> None:
    got = messages("""
        topology t
          takes:
            nic  string[]  "n"
          has:
            vms:
              is vlan_bridges
              trunk storrage
              vlans [1]
            br:
              is bridgee
            b2:
              is bridge
              uplnk {nic.0}
              stp {nics.1}
        """)
    assert "trunk refers to unknown resource storrage" in got
    assert "unknown resource kind `bridgee`" in got
    assert "a bridge has no property uplnk" in got
    assert "{nics.1} refers to nothing this contract takes or produced" in got


def test_parameters_must_be_taken_and_required_ones_given() -> None:
    got = messages("""
        pathway p
          steps:
            1. bridge_create
                 bridge_name = br0
                 ports = [a]
            2. -> bridge_create
                 bridge_name = x
                 interfaces = []
            3. provision_bond
                 bond_name = b
                 members = [a]
            4. bridge_stp
                 bridge = br0
                 enabled = maybe
        """)
    assert "bridge_create takes no parameter ports" in got
    assert "step bridge_create is missing required parameter interfaces" in got
    assert "unknown pathway bridge_create" in got
    assert "unknown locus provision_bond" in got
    assert "enabled of bridge_stp is bool: expected bool, got string" in got


def test_family_risk_timescale_and_policies() -> None:
    got = messages("""
        gene g
          is diagnostc
          risk huge
          feeds:
            bridge_create  eventually

        gene h
          is configuration
          feeds:
            bridge_create  convergence

        pathway p
          steps:
            1. check_link_state
                 device = x
          on failure:
            rollback al
            preserve what works
            rollback all
        """)
    assert "unknown family `diagnostc`" in got
    assert "unknown risk `huge`" in got
    assert "unknown timescale `eventually`" in got
    assert "gene h has no `risk`" in got
    assert "only diagnostic genes feed fitness" in got
    assert "unknown failure policy `rollback al`" in got
    assert "`preserve what works` contradicts rolling back" in got


def test_examples_are_checked_against_takes_and_gives() -> None:
    got = messages("""
        gene g
          is transform
          risk none
          takes:
            value  int  "v"
          gives:
            result  int  "r"
          examples:
            - {"value": "5"} -> {"result": 1}
            - {"value": 5} -> {"reslt": 1}
            - {"value": 5} -> {"result": 1.5}
        """)
    assert "example input: value: expected int, got string" in got
    assert "example output: g gives no field reslt" in got
    assert "example output: result: expected int, got float" in got


def test_verify_needs_one_window_and_diagnostics() -> None:
    got = messages("""
        gene g
          is configuration
          risk low
          takes:
            name  string  "n"
          verify:
            bridge_stp bridge={name} enabled=true
        """)
    assert "verify has no `within` window" in got
    assert "verify runs diagnostics; bridge_stp is a configuration gene" in got


def test_pathway_composition_cycle() -> None:
    got = messages("""
        pathway a
          steps:
            1. -> b

        pathway b
          steps:
            1. -> a
        """)
    assert "pathways compose in a cycle: a -> b -> a" in got


def test_load_tree_raises_with_every_problem(tmp_path) -> None:
    (tmp_path / "x.sg").write_text("gene g\n  is nope\n  risk never\n")
    with pytest.raises(ContractError) as info:
        load_tree(tmp_path)
    assert [d.message for d in info.value.diagnostics] == ["unknown family `nope`", "unknown risk `never`"]


def test_unknown_types_and_reference_defaults_never_crash_value_checks() -> None:
    got = messages("""
        gene g
          is diagnostic
          risk none
          takes:
            bridge  string           "b"
            peer    string = {bridge}  "p"
          gives:
            x  strin  "x"
          examples:
            - {"bridge": "b"} -> {"x": 1}

        topology t
          takes:
            nic  strin  "n"
          has:
            m:
              is bridge

        phenotype p
          for t
          nic = [a]
        """)
    assert "unknown type strin" in got
    assert "a default cannot hold a {reference}" in got
    assert "example output: x: unknown type strin" in got


def test_step_zero_and_step_references_in_pathway_verify() -> None:
    got = messages("""
        pathway p
          steps:
            0. check_link_state
                 device = a
            1. vlan_create
                 parent_interface = a
                 vlan_id = 5
          verify:
            check_vlan_tagging interface={step 1.interface}
            within 1s
        """)
    assert "steps are numbered from 1" in got
    assert not any("step references" in m or "{step 1" in m for m in got)
