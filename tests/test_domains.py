"""Domains: the network domain is built in, and topology resource kinds come from domains."""

from __future__ import annotations

from textwrap import dedent

from sggit import domains
from sggit.contract.checks import check_tree
from sggit.contract.tree import read_tree
from sggit.shipped import shipped_root

TOPOLOGY = dedent("""\
    topology store
      has:
        data:
          is volume
          size 10
        br:
          is bridge
    """)


def _messages(kinds: dict[str, dict[str, bool]] | None) -> list[str]:
    tree = read_tree([])
    tree.add_text(TOPOLOGY, "t.sg")
    return [d.message for d in check_tree(tree, kinds)]


def test_the_checker_judges_resources_by_the_table_it_is_given() -> None:
    own = _messages({"volume": {"size": False}})
    assert "unknown resource kind `bridge`" in own and not any("volume" in m for m in own)
    installed = _messages(None)
    assert "unknown resource kind `volume`" in installed and not any("`bridge`" in m for m in installed)


def test_network_is_built_in_and_feeds_the_planner() -> None:
    network = domains.get("network")
    assert next(d.name for d in domains.installed()) == "network"
    assert network.contracts_dir == shipped_root() / "contracts" and network.seeds_dir.is_dir()
    assert set(network.kernel_kinds) == {"mock", "netlink"}
    assert {name: kind.pathway for name, kind in network.resource_kinds.items()} == {
        "bridge": "provision_management_bridge", "bond": "provision_bond", "vlan_bridges": "provision_vlan_bridge"}
    assert domains.resource_kind("vlan_bridges").needs == ("vlan", "bridge")
    assert domains.resource_kind("table").pathway == "ingest_clean_and_load"
    assert domains.resource_kinds()["vlan_bridges"]["trunk"] is True
    assert "create_bridge(name, stp=False)" in network.sdk_surface


def test_the_simulated_host_follows_the_nic_bindings() -> None:
    host = domains.get("network").host({"nics": ["eno1", "eno2"], "mgmt": "eno1"})
    assert [nic.name for nic in host.nics] == ["eno1", "eno2"]
    assert host.leases == {host.nics[0].mac: "192.0.2.10/24"}
