"""Fusion and decomposition on real parts: a git genome in tmp, sandbox workers, the mock kernel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sggit.contract.validate import Validator
from sggit.engines.fixture import FixtureEngine
from sggit.errors import SggitError
from sggit.genes import source_problems
from sggit.genome import phenostore
from sggit.genome import phenotype as ph
from sggit.genome.alleles import allele_id
from sggit.genome.lineage import read_lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.kernel.dispatch import make_handler
from sggit.kernel.mock import MockDescription, MockKernel, NicSpec
from sggit.kernel.undo import UndoLog
from sggit.runtime import fusion, fusion_source
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import WorkerPool
from sggit.runtime.session import mock_description
from tests.runtime.helpers import add_allele, organism, without_reexpression

MGMT = {"management_bridge": "mgmt", "uplink_interface": "eno1"}

# mac_preserve that refuses bridges whose name starts with "x": fine until such an input arrives
PICKY_MAC = """
import json
import gene_sdk

def execute(input_json):
    data = json.loads(input_json)
    if data["bridge"].startswith("x"):
        raise ValueError("cannot handle bridge " + data["bridge"])
    mac = gene_sdk.get_link(data["uplink"])["mac"]
    gene_sdk.set_mac(data["bridge"], mac)
    return json.dumps({"success": True, "mac": mac, "source": "uplink", "error": None})
"""

FIXED_MAC = """
import json
import gene_sdk

def execute(input_json):
    data = json.loads(input_json)
    mac = gene_sdk.get_link(data["uplink"])["mac"]
    gene_sdk.set_mac(data["bridge"], mac)
    return json.dumps({"success": True, "mac": mac, "source": "uplink", "error": None})
"""


def set_threshold(genome: Genome, value: int) -> None:
    def edit(pmap: ph.PhenotypeMap) -> ph.PhenotypeMap:
        out = pmap.model_copy(deep=True)
        out.settings[fusion.THRESHOLD_SETTING] = value
        return out

    phenostore.change_phenotype(genome, "dell_r740", edit, action="settings", subject="fusion threshold")


def run_fused_directly(org: Organism, kernel: MockKernel, pathway: str, inputs: dict) -> fusion.FusedOutput:
    plan = fusion.plan_of(org.tree, pathway)
    chosen = {locus: org.stack(locus)[0] for locus in plan["genes"]}
    source = fusion_source.mechanical_source(plan, {locus: org.source(a) for locus, a in chosen.items()}, chosen)
    data = Validator(org.tree.pathways[pathway].takes)(inputs)  # the pathway's defaults, as run_pathway applies them
    outcome = org.pool.run(allele_id(source), source, json.dumps(data), handler=make_handler(kernel, UndoLog()))
    assert outcome.ok, outcome.message
    return fusion.FusedOutput.model_validate_json(outcome.output)


@pytest.mark.parametrize(
    ("pathway", "inputs", "setup"),
    [
        ("provision_management_bridge", MGMT, None),
        ("provision_vlan_bridge", {"parent_interface": "eno2", "vlan_id": 100}, None),
        ("health_check_bridge", {"bridge": "br9"}, "br9"),
    ],
)
def test_the_fused_gene_replays_the_pathway_exactly(project: Path, pool: WorkerPool, pathway: str, inputs: dict, setup: str | None) -> None:
    org, kernel = organism(project, pool, wait_verify=False)
    twin = MockKernel(mock_description(org.genome, "dell_r740"))
    for k in (kernel, twin):
        if setup:
            k.create_bridge(setup)
            k.set_link_up(setup)
    unfused = org.run_pathway(pathway, inputs)
    assert unfused.ok, json.dumps(unfused.as_json(), indent=1)
    fused = run_fused_directly(org, twin, pathway, inputs)
    assert fused.ok and json.loads(json.dumps(fused.outputs)) == json.loads(json.dumps(unfused.outputs))
    assert sorted(link["name"] for link in twin.list_links()) == sorted(link["name"] for link in kernel.list_links())


def test_the_fused_source_is_one_valid_allele_with_json_routed_to_the_shim(project: Path, pool: WorkerPool) -> None:
    org, _ = organism(project, pool, wait_verify=False)
    plan = fusion.plan_of(org.tree, "provision_management_bridge")
    chosen = {locus: org.stack(locus)[0] for locus in plan["genes"]}
    source = fusion_source.mechanical_source(plan, {locus: org.source(a) for locus, a in chosen.items()}, chosen)
    assert source_problems(source) == []
    assert source.count("\ndef execute(") == 1
    assert source.count("json = _JSON") == len(chosen)


def test_a_failing_step_is_reported_by_number_and_nothing_after_it_runs(project: Path, pool: WorkerPool) -> None:
    org, kernel = organism(project, pool, wait_verify=False)
    fused = run_fused_directly(org, kernel, "provision_management_bridge", {"management_bridge": "mgmt", "uplink_interface": "nope0"})
    assert not fused.ok and fused.failed_step == 2
    assert "bridge_uplink" in (fused.error or "")
    assert list(fused.outputs) == ["1"]


def test_pathways_calling_pathways_do_not_fuse(project: Path, pool: WorkerPool) -> None:
    org, _ = organism(project, pool, wait_verify=False)
    assert "provision_management_bridge" in (fusion.fusion_problem(org.tree, "deploy_server_network") or "")
    with pytest.raises(fusion_source.FusionError):
        fusion.plan_of(org.tree, "deploy_server_network")


def test_a_streak_of_successes_fuses_the_pathway(project: Path, pool: WorkerPool) -> None:
    genome = Genome.open(project)
    set_threshold(genome, 3)
    org, kernel = organism(project, pool, wait_verify=False)
    for i in range(3):
        assert org.phenotype().pathways.get("provision_vlan_bridge") is None
        result = org.run_pathway("provision_vlan_bridge", {"parent_interface": "eno2", "vlan_id": 10 + i})
        assert result.ok
    entry = org.phenotype().pathways["provision_vlan_bridge"]
    assert entry.state == "fused" and entry.fused_allele
    tip = phenostore.history(genome, "dell_r740", limit=1)[0]
    assert tip.action == "fuse" and tip.trailers["Sggit-Allele"] == entry.fused_allele
    lineage = read_lineage(genome, "provision_vlan_bridge", entry.fused_allele)
    constituents = {locus: org.stack(locus)[0] for locus in ("vlan_create", "bridge_create", "check_vlan_tagging")}
    assert lineage is not None and lineage.origin == "fusion" and lineage.locus == "provision_vlan_bridge"
    assert lineage.parents == sorted(set(constituents.values()))
    # the next run is one worker call of the fused allele, with the same outputs
    before = len(org.trace)
    result = org.run_pathway("provision_vlan_bridge", {"parent_interface": "eno2", "vlan_id": 20})
    assert result.ok and [a.allele for a in org.trace[before:]] == [entry.fused_allele]
    assert result.outputs["2"]["success"] is True and result.outputs["1"]["interface"] == "eno2.20"
    assert kernel.get_link("vmbr20")["name"] == "vmbr20"
    # and it undoes as one transaction
    assert result.rollback() == []
    assert "vmbr20" not in [link["name"] for link in kernel.list_links()]


def test_a_failure_or_another_allele_restarts_the_streak(project: Path, pool: WorkerPool) -> None:
    genome = Genome.open(project)
    book = fusion.Reinforcement(genome, "dell_r740")
    a, b = "a" * 40, "b" * 40
    assert book.observe("p", True, {"x": a}).count == 1
    assert book.observe("p", True, {"x": a}).count == 2
    assert book.observe("p", True, {"x": b}).count == 1
    assert book.observe("p", True, {"x": b}).count == 2
    assert book.observe("p", False, {"x": b}).count == 0
    assert fusion.Reinforcement(genome, "dell_r740").load().pathways["p"].count == 0


def test_breathe_in_breathe_out(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    """Fuse, fail on a new input, decompose, heal the broken step by mutation, restabilise, fuse again."""
    genome = Genome.open(project)
    set_threshold(genome, 2)
    picky = add_allele(genome, "mac_preserve", PICKY_MAC, state="dominant")
    for allele in phenostore.read_phenotype(genome, "dell_r740").locus("mac_preserve").stack[1:]:
        phenostore.demote(genome, "dell_r740", "mac_preserve", allele)
    without_reexpression(genome)
    fixtures = tmp_path / "fixtures" / "mac_preserve"
    fixtures.mkdir(parents=True)
    (fixtures / "fix.py").write_text(FIXED_MAC)
    engine = FixtureEngine(tmp_path / "fixtures", state_dir=tmp_path / "state")
    six = MockKernel(MockDescription(nics=[NicSpec(name=f"eno{i}", mac=f"aa:bb:cc:dd:00:0{i}") for i in range(1, 7)]))
    org, kernel = organism(project, pool, wait_verify=False, kernel=six, engine=engine)

    # breathe in: two clean runs fuse the pathway
    for bridge, nic in (("br1", "eno1"), ("br2", "eno2")):
        assert org.run_pathway("provision_management_bridge", {"management_bridge": bridge, "uplink_interface": nic}).ok
    first = org.phenotype().pathways["provision_management_bridge"].fused_allele
    assert first is not None and picky in read_lineage(genome, "provision_management_bridge", first).parents  # type: ignore[union-attr]

    # breathe out: the fused gene fails on this input, rolls back as one, and the pathway runs step by step
    result = org.run_pathway("provision_management_bridge", {"management_bridge": "xbr", "uplink_interface": "eno3"})
    assert result.ok, json.dumps(result.as_json(), indent=1)
    assert org.phenotype().pathways["provision_management_bridge"].state == "decomposed"
    assert any(e.startswith("decomposed provision_management_bridge") and "step 3" in e and "cannot handle bridge xbr" in e for e in org.events)
    fused_attempt = next(a for a in org.trace if a.allele == first and not a.ok)
    assert "create_bridge" in fused_attempt.undo and fused_attempt.undo_failures == []
    # step by step, each step was scored on its own: the broken allele's failure is on record at its locus
    scored = [(r.allele, r.ok) for r in pending_records(genome) if r.locus == "mac_preserve" and r.timescale == "immediate"]
    assert (picky, False) in scored
    assert (first, False) in [(r.allele, r.ok) for r in pending_records(genome) if r.locus == "provision_management_bridge"]
    mutant = next(a for a in org.trace if a.origin == "mutation")
    assert mutant.ok and mutant.locus == "mac_preserve"
    assert read_lineage(genome, "mac_preserve", mutant.allele).parents == [picky]  # type: ignore[union-attr]
    assert kernel.get_link("xbr")["mac"] == kernel.get_link("eno3")["mac"]

    # restabilise: two more clean runs fuse it again
    for bridge, nic in (("br4", "eno4"), ("br5", "eno5")):
        assert org.run_pathway("provision_management_bridge", {"management_bridge": bridge, "uplink_interface": nic}).ok
    second = org.phenotype().pathways["provision_management_bridge"].fused_allele
    assert second is not None
    actions = [c.action for c in phenostore.history(genome, "dell_r740") if c.trailers.get("Sggit-Pathway") == "provision_management_bridge"]
    assert actions[:3] == ["fuse", "decompose", "fuse"]


def _fused_vlan(project: Path, pool: WorkerPool, tmp_path: Path, candidate: str) -> tuple[Organism, str]:
    fixtures = tmp_path / "fixtures" / "provision_vlan_bridge"
    fixtures.mkdir(parents=True)
    (fixtures / "opt.py").write_text(candidate)
    org, _ = organism(project, pool, wait_verify=False, engine=FixtureEngine(tmp_path / "fixtures", state_dir=tmp_path / "state"))
    return org, org.fuse("provision_vlan_bridge", {})


def _fresh(org: Organism):  # type: ignore[no-untyped-def]
    return lambda: MockKernel(mock_description(org.genome, "dell_r740"))


def test_an_optimised_fused_gene_replaces_the_mechanical_one_only_after_an_exact_replay(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    # a hand-"optimised" gene: the mechanical one's own source with its docstring changed
    org, _ = organism(project, pool, wait_verify=False)
    plan = fusion.plan_of(org.tree, "provision_vlan_bridge")
    chosen = {locus: org.stack(locus)[0] for locus in plan["genes"]}
    optimised = fusion_source.mechanical_source(plan, {locus: org.source(a) for locus, a in chosen.items()}, chosen).replace('"""Fused pathway', '"""Optimised fused pathway', 1)
    org, mechanical = _fused_vlan(project, pool, tmp_path, optimised)
    inputs = [{"parent_interface": "eno2", "vlan_id": 7, "stp_enabled": False}, {"parent_interface": "nope9", "vlan_id": 8, "stp_enabled": False}]
    new = org.optimise_fusion("provision_vlan_bridge", inputs, _fresh(org))
    assert new is not None and new != mechanical
    assert org.phenotype().pathways["provision_vlan_bridge"].fused_allele == new
    lineage = read_lineage(org.genome, "provision_vlan_bridge", new)
    assert lineage is not None and lineage.origin == "fusion" and lineage.parents == [mechanical] and lineage.engine == "fixture"


def test_an_optimised_fused_gene_that_changes_behaviour_is_rejected(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    lazy = (
        "import json\nimport gene_sdk\n\n"
        "def execute(input_json):\n"
        "    data = json.loads(input_json)\n"
        "    name = str(data['parent_interface']) + '.' + str(data['vlan_id'])\n"
        "    gene_sdk.create_vlan(data['parent_interface'], data['vlan_id'], name)\n"
        "    return json.dumps({'ok': True, 'outputs': {'1': {'success': True, 'interface': name, 'error': None}}, 'failed_step': None, 'error': None})\n"
    )
    org, mechanical = _fused_vlan(project, pool, tmp_path, lazy)
    new = org.optimise_fusion("provision_vlan_bridge", [{"parent_interface": "eno2", "vlan_id": 7, "stp_enabled": False}], _fresh(org))
    assert new is None
    assert org.phenotype().pathways["provision_vlan_bridge"].fused_allele == mechanical
    assert any(e.startswith("rejected optimised provision_vlan_bridge") for e in org.events)


def test_the_fusion_threshold_is_a_positive_integer_setting() -> None:
    assert fusion.threshold_for({}) == fusion.DEFAULT_THRESHOLD == 10
    assert fusion.threshold_for({"fusion_threshold": 4}) == 4
    for bad in (0, -1, "ten", True):
        with pytest.raises(SggitError, match="fusion_threshold"):
            fusion.threshold_for({"fusion_threshold": bad})
