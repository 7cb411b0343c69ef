"""The gp engine repairs single-mutation bugs planted in the shipped seed alleles.

Each bug is one token away from the shipped seed: an off-by-one, a wrong variable,
a swapped comparison. Candidates are judged in sandbox workers on mock kernels,
and the repair must also pass held-out inputs it never saw.
"""

from __future__ import annotations

from typing import Any

import pytest

from sggit.contract.tree import load_tree
from sggit.engines.base import Case, ContractBrief, MutationContext
from sggit.engines.gp import GPEngine
from sggit.kernel.mock import MockKernel
from sggit.runtime.evaluate import SandboxEvaluator
from sggit.runtime.sandbox import WorkerPool
from sggit.shipped import shipped_root

CASES: dict[str, dict[str, Any]] = {
    "off-by-one in vlan_create's interface name": {
        "locus": "vlan_create",
        "plant": ('name = data.get("name") or f"{parent}.{vlan_id}"', 'name = data.get("name") or f"{parent}.{vlan_id + 1}"'),
        "examples": [
            ({"parent_interface": "eth0", "vlan_id": 100}, {"success": True, "interface": "eth0.100"}),
            ({"parent_interface": "eth1", "vlan_id": 7}, {"success": True, "interface": "eth1.7"}),
        ],
        "held_out": [({"parent_interface": "eth2", "vlan_id": 4094}, {"interface": "eth2.4094"}), ({"parent_interface": "nosuch0", "vlan_id": 5}, {"success": False})],
        "repeat": True,
    },
    "wrong variable in bridge_create's result": {
        "locus": "bridge_create",
        "plant": ('return json.dumps({"success": True, "changed": True, "resources_created": [name], "error": None})', 'return json.dumps({"success": True, "changed": True, "resources_created": [stp], "error": None})'),
        "examples": [
            ({"bridge_name": "br0", "interfaces": []}, {"success": True, "resources_created": ["br0"]}),
            ({"bridge_name": "br1", "interfaces": ["eth0"]}, {"success": True, "resources_created": ["br1"]}),
        ],
        "held_out": [({"bridge_name": "br9", "interfaces": ["eth1", "eth2"]}, {"success": True, "resources_created": ["br9"]}), ({"bridge_name": "br8", "interfaces": ["nosuch0"]}, {"success": False})],
    },
    "swapped comparison in bridge_create's existence check": {
        "locus": "bridge_create",
        "plant": ("    if name in existing:\n", "    if name not in existing:\n"),
        "examples": [
            ({"bridge_name": "br0", "interfaces": []}, {"success": True, "resources_created": ["br0"]}),
            ({"bridge_name": "eth0", "interfaces": []}, {"success": False}),
        ],
        "held_out": [({"bridge_name": "eth3", "interfaces": []}, {"success": False}), ({"bridge_name": "brz", "interfaces": ["eth1"]}, {"success": True})],
    },
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gp_repairs_a_planted_bug_in_a_shipped_seed(name: str, pool: WorkerPool) -> None:
    spec = CASES[name]
    tree = load_tree(shipped_root() / "contracts")
    gene = tree.genes[spec["locus"]]
    seed = (shipped_root() / "genome" / spec["locus"] / "seed.py").read_text()
    before, after = spec["plant"]
    assert before in seed, "the shipped seed changed; update the planted bug"
    planted = seed.replace(before, after, 1)
    examples = [{"input": i, "output": o} for i, o in spec["examples"]]
    context = MutationContext(
        contract=ContractBrief(locus=gene.name, family=gene.family, risk=gene.risk, examples=examples),
        parent="p" * 40,
        parent_source=planted,
        failing_input=spec["examples"][0][0],
        error="example failed",
    )
    evaluator = SandboxEvaluator(pool, MockKernel, gene=gene)
    engine = GPEngine(evaluator, seed=7, max_candidates=600, max_seconds=60)
    proposals = engine.propose(context, count=1)
    assert proposals, f"no repair within the budget ({engine.last_stats})"
    repaired = proposals[0].source
    held_out = [Case(input=i, expected=o) for i, o in spec["held_out"]] + [Case(input=i, expected=o) for i, o in spec["examples"]]
    failures = [evaluator.run_case(gene, repaired, case) for case in held_out]
    assert failures == [None] * len(held_out), (repaired, failures)
    if spec.get("repeat"):  # the same seed and budget give the same repair through sandbox workers too; one case shows it
        again = GPEngine(SandboxEvaluator(pool, MockKernel, gene=gene), seed=7, max_candidates=600, max_seconds=60).propose(context, count=1)
        assert again[0].source == repaired
