"""The selection layer's promises: risk gates that hold, and re-expression before mutation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sggit.genome import phenostore
from sggit.genome.alleles import register_allele
from sggit.genome.lineage import Lineage, read_lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.runtime.safety import POLICIES, policy_for
from tests.helpers import sg

from .helpers import RAISES, add_allele, without_reexpression

MAC_FIX = (
    "import json\nimport gene_sdk\n\n"
    "def execute(input_json):\n"
    "    data = json.loads(input_json)\n"
    "    mac = gene_sdk.get_link(data['uplink'])['mac']\n"
    "    gene_sdk.set_mac(data['bridge'], mac)\n"
    "    return json.dumps({'success': True, 'mac': mac, 'source': 'uplink', 'error': None})\n"
)

# Handles bridges named z*, fails on the rest: the one allele that knows an unusual kind of input.
ONLY_Z = (
    "import json\nimport gene_sdk\n\n"
    "def execute(input_json):\n"
    "    data = json.loads(input_json)\n"
    "    if not data['bridge_name'].startswith('z'):\n"
    "        return json.dumps({'success': False, 'resources_created': [], 'error': 'not a z bridge'})\n"
    "    gene_sdk.create_bridge(data['bridge_name'])\n"
    "    return json.dumps({'success': True, 'resources_created': [data['bridge_name']], 'error': None})\n"
)
NOT_Z = ONLY_Z.replace("if not data['bridge_name'].startswith('z')", "if data['bridge_name'].startswith('z')")





def test_each_level_adds_to_the_one_before() -> None:
    order = ["none", "low", "medium", "high", "critical"]
    fields = ["transaction", "convergence_check", "shadow_first", "canary", "review", "resilience_evidence"]
    for lower, upper in zip(order, order[1:], strict=False):
        for f in fields:
            assert getattr(POLICIES[upper], f) >= getattr(POLICIES[lower], f), (lower, upper, f)
    assert not any(getattr(POLICIES["none"], f) for f in fields)
    assert [f for f in fields if getattr(POLICIES["high"], f)] == ["transaction", "convergence_check", "shadow_first", "canary", "review"]
    assert POLICIES["critical"].resilience_evidence and not POLICIES["high"].resilience_evidence
    assert policy_for(None) == POLICIES["high"]


@pytest.mark.parametrize("risk", ["high", "critical"])
def test_a_high_risk_locus_never_lets_an_unreviewed_mutant_lead(here: Path, tmp_path: Path, risk: str) -> None:
    contract = here / "contracts" / "genes" / "mac_preserve.sg"
    contract.write_text(contract.read_text().replace("  risk high\n", f"  risk {risk}\n"))
    genome = Genome.open(here)
    broken = add_allele(genome, "mac_preserve", RAISES, state="dominant")
    for allele in phenostore.read_phenotype(genome, "dell_r740").locus("mac_preserve").stack[1:]:
        phenostore.demote(genome, "dell_r740", "mac_preserve", allele)
    without_reexpression(genome)
    (tmp_path / "fx" / "mac_preserve").mkdir(parents=True)
    (tmp_path / "fx" / "mac_preserve" / "fix.py").write_text(MAC_FIX)
    sg("run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": ["eno1"]}')
    for _ in range(4):  # every run fails at the broken dominant; the engine's mutant may not take over
        sg("run", "mac_preserve", "--phenotype", "dell_r740", "--no-wait", "--engine", "fixture",
           "--fixture-dir", str(tmp_path / "fx"), "--input", '{"bridge": "br0", "uplink": "eno1"}', code=None)
    entry = phenostore.read_phenotype(genome, "dell_r740").locus("mac_preserve")
    mutants = [a for a in entry.alleles if read_lineage(genome, "mac_preserve", a).origin == "mutation"]  # type: ignore[union-attr]
    assert mutants, "the engine's mutant was registered"
    assert entry.dominant == broken
    assert not set(mutants) & set(entry.stack)
    assert all(entry.alleles[m].state == "canary" for m in mutants)
    pending = sg("promote", "--phenotype", "dell_r740").output
    if risk == "high":  # waits on its promotion branch for a reviewer
        assert "sggit: promote mac_preserve to" in pending
    else:  # critical: not even proposed before scheduled diagnostics have vouched for it
        assert "no pending promotion" in pending


def test_when_a_high_risk_dominant_is_demoted_the_fittest_reviewed_allele_leads(project: Path) -> None:
    from sggit.contract.tree import load_tree
    from sggit.kernel.mock import MockKernel
    from sggit.runtime.organism import Organism
    from sggit.runtime.sandbox import SandboxConfig, WorkerPool
    from sggit.runtime.session import mock_description

    genome = Genome.open(project)
    seeds = phenostore.read_phenotype(genome, "dell_r740").locus("mac_preserve").stack
    broken = add_allele(genome, "mac_preserve", RAISES, state="dominant")
    evolved = register_allele(genome, "mac_preserve", MAC_FIX, Lineage(locus="mac_preserve", origin="mutation", parents=[broken])).id
    # an evolved allele that reached the stack without review (as older versions let it), right behind the dominant
    phenostore.register_in_phenotype(genome, "dell_r740", "mac_preserve", evolved, "recessive")
    for seed in seeds:
        phenostore.set_lifecycle(genome, "dell_r740", "mac_preserve", seed, "deprecated")
        phenostore.set_lifecycle(genome, "dell_r740", "mac_preserve", seed, "recessive")
    assert phenostore.read_phenotype(genome, "dell_r740").locus("mac_preserve").stack[:2] == [broken, evolved]
    kernel = MockKernel(mock_description(genome, "dell_r740"))
    kernel.create_bridge("br0")
    kernel.add_port("br0", "eno1")
    with WorkerPool(SandboxConfig(), size=1) as pool:
        org = Organism(genome, load_tree(project / "contracts"), "dell_r740", kernel, pool, wait_verify=False)
        for _ in range(3):
            org.run_locus("mac_preserve", {"bridge": "br0", "uplink": "eno1"})
    entry = org.phenotype().locus("mac_preserve")
    assert entry.dominant != broken
    assert entry.dominant in seeds and entry.dominant != evolved
    assert any("reviewed" in e and "leads" in e for e in org.events)


def test_a_deprecated_allele_that_alone_handles_an_input_is_re_expressed_before_any_engine(here: Path) -> None:
    genome = Genome.open(here)
    z_only = add_allele(genome, "bridge_create", ONLY_Z, state="deprecated")
    for allele in phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").stack:
        phenostore.set_lifecycle(genome, "dell_r740", "bridge_create", allele, "deprecated")
    not_z = add_allele(genome, "bridge_create", NOT_Z, state="dominant")
    assert phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").stack == [not_z]

    # an uplink that does not exist: the deprecated seed refuses it, only ONLY_Z (which ignores ports) handles it
    result = json.loads(sg("run", "bridge_create", "--phenotype", "dell_r740", "--engine", "none",
                           "--input", '{"bridge_name": "z9", "interfaces": ["nothere0"]}').output)
    assert result["ok"] and result["output"]["resources_created"] == ["z9"]
    ran = [(r.allele, r.ok) for r in pending_records(genome) if r.locus == "bridge_create" and r.timescale == "immediate"]
    assert ran[0] == (not_z, False) and ran[-1] == (z_only, True)
    assert all(not ok for _, ok in ran[1:-1])  # any other deprecated allele tried first could not handle it
    entry = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create")
    assert entry.alleles[z_only].state == "recessive" and z_only in entry.stack
    assert phenostore.history(genome, "dell_r740", limit=1)[0].trailers["Sggit-Allele"] == z_only


def test_re_expression_can_be_turned_off_per_phenotype(here: Path) -> None:
    genome = Genome.open(here)
    not_z = add_allele(genome, "bridge_create", NOT_Z, state="dominant")
    for allele in phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").stack:
        if allele != not_z:
            phenostore.set_lifecycle(genome, "dell_r740", "bridge_create", allele, "deprecated")
    without_reexpression(genome)
    out = sg("run", "bridge_create", "--phenotype", "dell_r740", "--engine", "none",
             "--input", '{"bridge_name": "z9", "interfaces": []}', code=None)
    assert out.exit_code != 0 and not json.loads(out.stdout)["ok"]
    assert [r.allele for r in pending_records(genome) if r.locus == "bridge_create" and r.timescale == "immediate"] == [not_z]


def _stack(genome: Genome, locus: str) -> list[str]:
    return phenostore.read_phenotype(genome, "dell_r740").locus(locus).stack


@pytest.mark.parametrize("sync_after", [None, 1, 2])
def test_sync_between_failures_changes_no_decision(here: Path, sync_after: int | None) -> None:
    genome = Genome.open(here)
    broken = add_allele(genome, "bridge_create", RAISES, state="dominant")
    for i in range(3):
        sg("run", "bridge_create", "--phenotype", "dell_r740", "--input", json.dumps({"bridge_name": f"br{i}", "interfaces": []}))
        if sync_after == i + 1:
            sg("sync")
    assert _stack(genome, "bridge_create")[0] != broken
    assert _stack(genome, "bridge_create")[-1] == broken
    demotion = phenostore.history(genome, "dell_r740", limit=1)[0]
    assert demotion.trailers["Sggit-Action"] == "demote" and demotion.trailers["Sggit-Allele"] == broken


# Reports success and builds nothing: every verify (check_link_state on the bridge) comes back unhealthy.
LIAR = (
    "import json\n\n"
    "def execute(input_json):\n"
    "    data = json.loads(input_json)\n"
    "    return json.dumps({'success': True, 'resources_created': [data['bridge_name']], 'error': None})\n"
)


def test_a_low_risk_allele_that_never_converges_is_demoted_in_the_default_run_mode(here: Path) -> None:
    genome = Genome.open(here)
    liar = add_allele(genome, "bridge_create", LIAR, state="dominant")
    for i in range(3):
        out = json.loads(sg("run", "bridge_create", "--phenotype", "dell_r740",
                            "--input", json.dumps({"bridge_name": f"lie{i}", "interfaces": []})).output)
        assert out["ok"]  # low risk: the output stands, convergence is judged after the fact
    convergence = [r for r in pending_records(genome) if r.allele == liar and r.timescale == "convergence"]
    assert len(convergence) == 3 and not any(r.ok for r in convergence)
    assert _stack(genome, "bridge_create")[0] != liar
    assert phenostore.history(genome, "dell_r740", limit=1)[0].trailers["Sggit-Allele"] == liar


def test_heal_sees_failures_after_sync_and_convergence_failures(here: Path) -> None:
    from sggit.app.heal import recorded_failures
    from sggit.contract.tree import load_tree
    from sggit.kernel.mock import MockKernel
    from sggit.runtime.organism import Organism
    from sggit.runtime.sandbox import SandboxConfig, WorkerPool
    from sggit.runtime.session import mock_description

    genome = Genome.open(here)
    broken = add_allele(genome, "bridge_create", RAISES, state="dominant")
    sg("run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "brA", "interfaces": []}')
    sg("sync")
    liar = add_allele(genome, "bridge_create", LIAR, state="dominant")
    sg("run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "brB", "interfaces": []}')
    assert not [r for r in pending_records(genome) if r.allele == broken]  # brA's failure is only in the notes now
    with WorkerPool(SandboxConfig(), size=1) as pool:
        org = Organism(genome, load_tree(here / "contracts"), "dell_r740", MockKernel(mock_description(genome, "dell_r740")), pool)
        cases = recorded_failures(org, "bridge_create")
    inputs = {c[0]["bridge_name"]: c[1] for c in cases}
    assert "this allele is broken" in inputs["brA"]
    assert inputs["brB"].startswith("convergence: ")
    assert liar != broken


SEED_BUT_NO_Z = (
    "import json\nimport gene_sdk\n\n"
    "def execute(input_json):\n"
    "    data = json.loads(input_json)\n"
    "    name = data['bridge_name']\n"
    "    if name.startswith('z'):\n"
    "        return json.dumps({'success': False, 'changed': False, 'resources_created': [], 'error': 'cannot name a bridge ' + name})\n"
    "    existing = {l['name']: l for l in gene_sdk.list_links()}\n"
    "    if name in existing:\n"
    "        return json.dumps({'success': False, 'changed': False, 'resources_created': [], 'error': 'bridge already exists: ' + name})\n"
    "    for nic in data.get('interfaces', []):\n"
    "        if nic not in existing:\n"
    "            return json.dumps({'success': False, 'changed': False, 'resources_created': [], 'error': 'interface not found: ' + nic})\n"
    "    gene_sdk.create_bridge(name)\n"
    "    for nic in data.get('interfaces', []):\n"
    "        gene_sdk.add_port(name, nic)\n"
    "    return json.dumps({'success': True, 'changed': True, 'resources_created': [name], 'error': None})\n"
)
# "Repairs" that pass the failing case and the example but break what the parent got right.
SKIPS_THE_INTERFACE_CHECK = (
    "import json\nimport gene_sdk\n\n"
    "def execute(input_json):\n"
    "    data = json.loads(input_json)\n"
    "    gene_sdk.create_bridge(data['bridge_name'])\n"
    "    return json.dumps({'success': True, 'changed': True, 'resources_created': [data['bridge_name']], 'error': None})\n"
)
FORGETS_THE_PORTS = SEED_BUT_NO_Z.replace("    if name.startswith('z'):\n        return json.dumps({'success': False, 'changed': False, 'resources_created': [], 'error': 'cannot name a bridge ' + name})\n", "").replace(
    "    for nic in data.get('interfaces', []):\n        gene_sdk.add_port(name, nic)\n", "").replace("'resources_created': [name]", "'resources_created': [name] + ['ports-skipped'] * len(data.get('interfaces', []))")
REAL_FIX = SEED_BUT_NO_Z.replace("    if name.startswith('z'):\n        return json.dumps({'success': False, 'changed': False, 'resources_created': [], 'error': 'cannot name a bridge ' + name})\n", "")


def test_a_repair_must_keep_declared_failures_and_agree_with_its_parent(here: Path, tmp_path: Path) -> None:
    genome = Genome.open(here)
    parent = add_allele(genome, "bridge_create", SEED_BUT_NO_Z, state="dominant")
    without_reexpression(genome)
    for body in ({"bridge_name": "brP", "interfaces": ["eno1"]},      # the parent handles it: an agreement sample
                 {"bridge_name": "brQ", "interfaces": ["nope0"]},     # interface not found: a declared failure
                 {"bridge_name": "z9", "interfaces": []}):            # the parent's bug
        sg("run", "bridge_create", "--phenotype", "dell_r740", "--no-wait", "--input", json.dumps(body), code=None)
    fx = tmp_path / "fx" / "bridge_create"
    fx.mkdir(parents=True)
    (fx / "1-skips.py").write_text(SKIPS_THE_INTERFACE_CHECK)
    (fx / "2-forgets.py").write_text(FORGETS_THE_PORTS)
    (fx / "3-fix.py").write_text(REAL_FIX)
    out = sg("heal", "bridge_create", "--phenotype", "dell_r740", "--engine", "fixture", "--fixture-dir", str(tmp_path / "fx")).output
    entry = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create")
    winner = entry.dominant
    assert winner != parent
    from sggit.genome.alleles import allele_source
    assert allele_source(genome, winner).decode() == REAL_FIX
    # the first two were judged on the guards and turned down, each for what it broke
    assert "1-skips.py\n     first failure: success: expected false, got true" in out
    assert '2-forgets.py\n     first failure: resources_created: expected ["brP"]' in out


def test_a_mutant_offered_during_a_run_is_screened_on_the_same_guards(here: Path, tmp_path: Path) -> None:
    genome = Genome.open(here)
    add_allele(genome, "bridge_create", SEED_BUT_NO_Z, state="dominant")
    without_reexpression(genome)
    for stack_allele in phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").stack[1:]:
        phenostore.set_lifecycle(genome, "dell_r740", "bridge_create", stack_allele, "deprecated")
    sg("run", "bridge_create", "--phenotype", "dell_r740", "--no-wait", "--input", '{"bridge_name": "brP", "interfaces": ["eno1"]}')
    fx = tmp_path / "fx" / "bridge_create"
    fx.mkdir(parents=True)
    (fx / "forgets.py").write_text(FORGETS_THE_PORTS)
    out = sg("run", "bridge_create", "--phenotype", "dell_r740", "--no-wait", "--engine", "fixture",
             "--fixture-dir", str(tmp_path / "fx"), "--input", '{"bridge_name": "z9", "interfaces": []}', code=None)
    assert out.exit_code != 0 and not json.loads(out.stdout)["ok"]
    entry = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create")
    mutant = next(a for a in entry.alleles if read_lineage(genome, "bridge_create", a).origin == "mutation")  # type: ignore[union-attr]
    assert entry.alleles[mutant].state == "shadow"
    assert not [r for r in pending_records(genome) if r.allele == mutant]  # never ran for real
