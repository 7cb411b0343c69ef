"""Deploying production_server on the netlink kernel in a throwaway network namespace.

Here bridges over veth NICs work; bonding and 802.1Q do not, so the bond must be
reported as unsupported and the VLAN bridges on it as blocked, never faked.
"""

from __future__ import annotations

from pathlib import Path

from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.repo import Genome
from sggit.kernel.features import probe_features
from sggit.kernel.session import open_kernel
from sggit.runtime import topology as t
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import WorkerPool
from tests.kernel.conftest import Namespaces, _sh, netns  # noqa: F401 - the fixture is used by name


def host_phenotype(genome: Genome, ns: Namespaces) -> str:
    """A phenotype like dell_r740 whose NICs are the namespace's veths (a third one added here)."""
    _sh("ip", "-n", ns.host, "link", "add", "eth2", "type", "veth", "peer", "name", "sw2", "netns", ns.peer)
    _sh("ip", "-n", ns.host, "link", "set", "eth2", "up")
    pmap = phenostore.read_phenotype(genome, "dell_r740").model_copy(update={"name": "nshost", "bindings": {"nic": ["eth0", "eth1", "eth2"]}})
    phenostore.create_phenotype(genome, pmap)
    return "nshost"


def links(ns: Namespaces) -> list[tuple]:
    return sorted((dev["ifname"], dev.get("master"), dev.get("operstate"), dev.get("address")) for dev in ns.ip("link", "show"))


def test_production_server_on_a_real_namespace_twice(project: Path, pool: WorkerPool, netns: Namespaces) -> None:  # noqa: F811
    genome = Genome.open(project)
    name = host_phenotype(genome, netns)
    types = probe_features()
    with open_kernel(netns=netns.host) as kernel:
        org = Organism(genome, load_tree(project / "contracts"), name, kernel, pool, wait_verify=False)
        _, first = t.deploy_on(org)
        statuses = {r.key: r.status for r in first.resources}
        assert statuses["management"] == "created", first.failures()
        assert netns.link("eth0")["master"] == "management"
        assert netns.link("management")["linkinfo"]["info_kind"] == "bridge"
        expected_bond = "created" if types["bond"][0] else "unsupported"
        assert statuses["storage"] == expected_bond
        if not types["bond"][0]:
            assert "storage" not in [link[0] for link in links(netns)]
            assert all(statuses[f"vm_traffic[{v}]"] in ("blocked", "unsupported") for v in (100, 200, 300))
            assert [c.status for c in first.checks[1:]] == ["skipped"] * 4
        assert first.status in ("partial", "ok")

        before = links(netns)
        plan = t.plan_on(org)
        assert "create" not in {c.action for c in plan.changes}
        _, second = t.deploy_on(org)
        assert second.changed == [] and links(netns) == before
