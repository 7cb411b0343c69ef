"""One call path: an allele gets the same verdict whoever runs it, and observers cannot change the host."""

from __future__ import annotations

import json
from pathlib import Path

from sggit.engines.base import Case
from sggit.genome.repo import Genome
from sggit.kernel.mock import MockKernel
from sggit.runtime.evaluate import SandboxEvaluator
from sggit.runtime.sandbox import WorkerPool
from sggit.runtime.session import mock_description, mock_state_path
from tests.helpers import sg_in
from tests.runtime.helpers import add_allele

REFUSES = (
    "import json\n\n"
    "def execute(input_json):\n"
    "    data = json.loads(input_json)\n"
    "    return json.dumps({'success': False, 'resources_created': [], 'error': 'refuses every bridge'})\n"
)

MEDDLES = (
    "import json\nimport gene_sdk\n\n"
    "def execute(input_json):\n"
    "    device = json.loads(input_json)['device']\n"
    "    for change in (lambda: gene_sdk.set_link_down(device), lambda: gene_sdk.set_mtu(device, 9000)):\n"
    "        try:\n"
    "            change()\n"
    "        except Exception:\n"
    "            pass\n"
    "    link = gene_sdk.get_link(device)\n"
    "    return json.dumps({'healthy': True, 'exists': True, 'state': 'up', 'mtu': link['mtu'], 'mac': link['mac']})\n"
)

VERDICT = "gene reported failure: refuses every bridge"


def test_an_allele_reporting_failure_fails_alike_in_run_test_ci_and_the_engine_evaluator(project: Path, pool: WorkerPool) -> None:
    genome = Genome.open(project)
    # A failing input recorded on this host, for CI's shadow replay to try new alleles on.
    # (re-applying the same bridge succeeds; asking it for other ports is refused)
    sg_in(project, "run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": ["eno1"]}', code=0)
    bridge = {"bridge_name": "br0", "interfaces": ["eno2"]}
    sg_in(project, "run", "bridge_create", "--phenotype", "dell_r740", "--input", json.dumps(bridge), code=1)
    sg_in(project, "sync", code=0)

    # A new seed file in the working tree, not registered yet: what a pull request adds.
    (project / "genome" / "bridge_create" / "refuses.py").write_text(REFUSES)
    ci = sg_in(project, "ci", "check", code=1)
    where = "genome/bridge_create/refuses.py (bridge_create)"
    recorded = json.dumps({**bridge, "stp_enabled": False}, sort_keys=True)
    said = 'gene reported failure, gene said "refuses every bridge"'  # a gene's words, quoted in a CI log too
    assert f"{where}: examples: example 1: {said}\n" in ci.stdout
    assert f"{where}: shadow replay: input {recorded}: {said} (not blocking)" in ci.stdout
    assert "shadow replay: ok (1 recorded failing inputs replayed on new alleles, 1 still failing)" in ci.stderr

    refuses = add_allele(genome, "bridge_create", REFUSES, state="dominant")
    err = sg_in(project, "run", "bridge_create", "--phenotype", "dell_r740", "--explain", "--input", '{"bridge_name": "br1", "interfaces": []}').stderr
    assert f"bridge_create allele {refuses[:7]} [stack]" in err and 'failed (gene reported failure, gene said "refuses every bridge")' in err

    out = sg_in(project, "test", "bridge_create", "--phenotype", "dell_r740", code=1).stdout
    row = next(line for line in out.splitlines() if refuses[:12] in line)
    assert "1/8" in row and 'example 1: gene reported failure, gene said "refuses every bridge"' in row  # only the refused-port example matches

    evaluator = SandboxEvaluator(pool, lambda: MockKernel(mock_description(genome, "dell_r740")), gene=_gene(project))
    evaluation = evaluator.evaluate([REFUSES], [Case(input={"bridge_name": "br2", "interfaces": []}, expected=None)])[0]
    assert evaluation.results == [False] and evaluation.errors == [VERDICT]


def _gene(project: Path):  # type: ignore[no-untyped-def]
    from sggit.contract.tree import load_tree

    return load_tree(project / "contracts").genes["bridge_create"]


def test_a_diagnostic_that_changes_the_host_fails_and_the_host_is_unchanged(project: Path) -> None:
    genome = Genome.open(project)
    meddles = add_allele(genome, "check_link_state", MEDDLES, state="dominant")
    sg_in(project, "run", "check_link_state", "--phenotype", "dell_r740", "--input", '{"device": "eno1"}', code=0)
    before = MockKernel.from_json(mock_state_path(genome, "dell_r740").read_text()).list_links()

    run = sg_in(project, "run", "check_link_state", "--phenotype", "dell_r740", "--explain", "--input", '{"device": "eno1"}')
    assert f"check_link_state allele {meddles[:7]} [stack]" in run.stderr
    assert "failed (forbidden): diagnostic gene called set_link_down" in run.stderr
    assert json.loads(run.stdout)["output"]["mtu"] == 1500
    after = MockKernel.from_json(mock_state_path(genome, "dell_r740").read_text()).list_links()
    assert after == before and next(link for link in after if link["name"] == "eno1")["up"] is True
