"""The one judge: what counts as failure, for every caller alike."""

from __future__ import annotations

import json

import pytest

from sggit.contract.tree import ContractTree, load_tree
from sggit.runtime.call import FusedOutput, judge
from sggit.runtime.sandbox import GeneOutcome
from sggit.shipped import shipped_root


@pytest.fixture(scope="module")
def tree() -> ContractTree:
    return load_tree(shipped_root() / "contracts")


def ok(value: object) -> GeneOutcome:
    return GeneOutcome(ok=True, output=json.dumps(value))


REFUSED = {"success": False, "resources_created": [], "error": "bridge already exists: br0"}


def test_a_configuration_gene_reporting_failure_has_failed_unless_the_example_expects_it(tree: ContractTree) -> None:
    gene = tree.genes["bridge_create"]
    verdict = judge(gene, ok(REFUSED))
    assert (verdict.ok, verdict.kind, verdict.error) == (False, "bad_output", "gene reported failure: bridge already exists: br0")
    assert judge(gene, ok(REFUSED), expected={"success": False}).ok is True
    mismatch = judge(gene, ok({**REFUSED, "success": True}), expected={"resources_created": ["br0"]})
    assert (mismatch.ok, mismatch.kind, mismatch.error) == (False, "mismatch", 'resources_created: expected ["br0"], got []')


def test_outputs_are_held_to_gives_and_sandbox_errors_keep_their_kind(tree: ContractTree) -> None:
    diagnostic = tree.genes["check_link_state"]
    healthy = {"healthy": False, "exists": False, "state": "absent", "mtu": None, "mac": None}
    assert judge(diagnostic, ok(healthy)).ok is True
    wrong = judge(diagnostic, ok({"healthy": "yes"}))
    assert wrong.kind == "bad_output" and (wrong.error or "").startswith("output does not match gives: ")
    assert (judge(diagnostic, GeneOutcome(ok=True, output="{not json")).error or "").startswith("output is not JSON")
    late = judge(diagnostic, GeneOutcome(ok=False, error="timeout", message="gene exceeded 2.0s"))
    assert (late.ok, late.kind, late.error) == (False, "timeout", "gene exceeded 2.0s")


def test_a_fused_allele_is_judged_by_the_fused_output_shape(tree: ContractTree) -> None:
    pathway = tree.pathways["provision_management_bridge"]
    broken = judge(pathway, ok({"ok": False, "outputs": {"1": {"success": True}}, "failed_step": 2, "error": "no such port"}))
    assert (broken.ok, broken.error) == (False, 'step 2: gene said "no such port"')
    assert isinstance(broken.output, FusedOutput) and broken.output.outputs == {"1": {"success": True}}
    assert (judge(pathway, ok({"outputs": {}})).error or "").startswith("fused output is not valid")
