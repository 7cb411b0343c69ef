"""Shadow replay runs on a copy of the live host's current state: what the CLI built and the faults injected into it."""

from __future__ import annotations

import json
from pathlib import Path

from sggit.engines.base import Case
from sggit.genome import phenostore
from sggit.genome.alleles import allele_source
from sggit.genome.repo import Genome
from sggit.runtime import lifecycle
from sggit.runtime.session import open_organism
from tests.helpers import sg

BRIDGE = {"management_bridge": "mgmt", "uplink_interface": "eno1"}


def test_shadow_holds_the_live_mock_hosts_bridge_and_reflecting_switch(project: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(project)
    sg("run", "provision_management_bridge", "--phenotype", "dell_r740", "--input", json.dumps(BRIDGE))
    sg("kernel", "inject", "reflecting_switch", "--mock", ".git/sggit/mock-dell_r740.json")

    with open_organism(root=project, phenotype="dell_r740", kernel="mock") as org:
        live = org.kernel
        shadow = lifecycle.shadow_kernels(org)()
        assert shadow is not live and shadow.to_json() == live.to_json()  # type: ignore[attr-defined]
        assert [p["name"] for p in shadow.list_ports("mgmt")] == ["eno1"]
        assert shadow.get_link("mgmt")["mac"] == "aa:bb:cc:dd:00:01" and shadow.state.reflecting_switch is True  # type: ignore[attr-defined]
        assert "mgmt" not in {link["name"] for link in lifecycle.fresh_kernels(org)().list_links()}

        # a replay on the failing input of a high-risk locus finds the bridge the live host has
        gene = org.tree.genes["mac_preserve"]
        seed = phenostore.read_phenotype(Genome.open(project), "dell_r740").locus("mac_preserve").dominant
        assert seed is not None
        source = allele_source(org.genome, seed).decode()
        case = Case(input={"bridge": "mgmt", "uplink": "eno1"}, expected=None, kind="failing")
        assert lifecycle.shadow_replay(org, gene, source, [case]) == [None]
        clean = lifecycle.shadow_replay(org, gene, source, [case], kernels=lifecycle.fresh_kernels(org))
        assert clean != [None] and "mgmt" in (clean[0] or "")  # the phenotype's clean hardware has no mgmt

        # what a replay does to its copy never reaches the live host
        shadow.remove_port("mgmt", "eno1")
        assert [p["name"] for p in live.list_ports("mgmt")] == ["eno1"]


def test_a_shadow_factory_made_before_a_change_copies_the_host_as_it_is_when_used(project: Path) -> None:
    """An engine's evaluator gets its shadow factory when the run starts; its replays still see what earlier steps built."""
    with open_organism(root=project, phenotype="dell_r740", kernel="mock") as org:
        shadow = lifecycle.shadow_kernels(org)
        assert "mgmt" not in {link["name"] for link in shadow().list_links()}
        assert org.run("provision_management_bridge", BRIDGE).ok
        assert [p["name"] for p in shadow().list_ports("mgmt")] == ["eno1"]
