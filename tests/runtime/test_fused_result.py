"""A fused run's result builds its step reports only when asked, and they are the ones the runner would report."""

from __future__ import annotations

from pathlib import Path

from sggit.genome.repo import Genome
from sggit.runtime import fusion
from sggit.runtime.fused import FusedResult
from sggit.runtime.sandbox import WorkerPool
from tests.runtime.helpers import organism
from tests.runtime.test_fusion import set_threshold

VLAN = "provision_vlan_bridge"


def test_a_fused_runs_outputs_steps_and_undo_are_the_step_by_step_ones(project: Path, pool: WorkerPool) -> None:
    set_threshold(Genome.open(project), 1)
    org, kernel = organism(project, pool, wait_verify=False)
    unfused = org.run_pathway(VLAN, {"parent_interface": "eno2", "vlan_id": 10})
    assert unfused.ok and org.phenotype().pathways[VLAN].state == "fused"
    fused = org.run_pathway(VLAN, {"parent_interface": "eno2", "vlan_id": 20})
    assert isinstance(fused, FusedResult) and fused._steps is None  # nothing built yet
    outputs = fused.outputs
    assert outputs["1"]["interface"] == "eno2.20" and list(outputs) == list(unfused.outputs)
    assert fused._steps is None
    steps = fused.as_json()["steps"]
    assert [(s["step"], s["target"], s["status"]) for s in steps] == [(s["step"], s["target"], s["status"]) for s in unfused.as_json()["steps"]]
    assert fused.outputs == outputs  # the same read from the built reports
    allele = org.phenotype().pathways[VLAN].fused_allele
    assert all(s["alleles"] == [allele] for s in steps)
    assert len(fused.steps[0].undo) == 1 and all(not s.undo for s in fused.steps[1:])
    assert "vmbr20" in [link["name"] for link in kernel.list_links()]
    assert fused.rollback() == [] and "vmbr20" not in [link["name"] for link in kernel.list_links()]


def test_a_fused_result_reports_what_fused_result_reports(project: Path) -> None:
    from sggit.contract.tree import load_tree

    pathway = load_tree(project / "contracts").pathways[VLAN]
    output = fusion.FusedOutput(ok=True, outputs={"2": {"b": 2}, "1": {"a": 1}, "9": {"not": "a step"}})
    lazy = FusedResult(pathway, "f" * 40, output, None, tuple(str(s.number) for s in pathway.steps))
    eager = fusion.fused_result(pathway, "f" * 40, output)
    assert lazy.outputs == eager.outputs == {"1": {"a": 1}, "2": {"b": 2}}
    assert lazy.as_json() == eager.as_json() and lazy.status == eager.status and lazy.policies == eager.policies
