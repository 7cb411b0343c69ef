from __future__ import annotations

from pathlib import Path

import pytest

from sggit.app.heal import HealReport, heal, recorded_failures
from sggit.app.scenarios import plant_bug, plant_regression
from sggit.engines.base import Case
from sggit.engines.fixture import FixtureEngine
from sggit.errors import SggitError
from sggit.genome import phenostore
from sggit.genome.lineage import read_lineage
from sggit.genome.repo import Genome
from sggit.kernel.mock import MockKernel
from sggit.runtime.evaluate import SandboxEvaluator, focus
from sggit.runtime.sandbox import WorkerPool
from sggit.runtime.session import engine_for, mock_description, open_organism

from .helpers import RAISES, STP_FIX, add_allele, organism, without_reexpression

STP_WRONG_SHAPE = (
    "import json\nimport gene_sdk\n\n"
    "def execute(input_json):\n"
    "    data = json.loads(input_json)\n"
    "    if not any(link['name'] == data['bridge'] for link in gene_sdk.list_links()):\n"
    "        return json.dumps({'success': False, 'changed': False, 'stp_enabled': False, 'error': 'bridge not found'})\n"
    "    gene_sdk.set_stp(data['bridge'], data['enabled'])\n"
    "    return json.dumps({'success': True, 'stp_enabled': 'yes'})\n"
)


def only_broken_stp(genome: Genome) -> str:
    broken = add_allele(genome, "bridge_stp", RAISES, state="dominant")
    for allele in phenostore.read_phenotype(genome, "dell_r740").locus("bridge_stp").stack[1:]:
        phenostore.demote(genome, "dell_r740", "bridge_stp", allele)
    without_reexpression(genome)
    return broken


def fixtures(tmp_path: Path, locus: str, *sources: str) -> Path:
    base = tmp_path / "fixtures"
    (base / locus).mkdir(parents=True)
    for i, source in enumerate(sources):
        (base / locus / f"{i:02d}.py").write_text(source)
    return base


def test_the_sandbox_evaluator_judges_as_a_run_does_and_checks_examples(project: Path, pool: WorkerPool) -> None:
    org, _ = organism(project, pool)
    gene = org.tree.genes["bridge_create"]
    seed = org.source(org.phenotype().locus("bridge_create").dominant)
    evaluator = SandboxEvaluator(pool, lambda: MockKernel(mock_description(org.genome, "dell_r740")))
    cases = [
        Case(input={"bridge_name": "br-a", "interfaces": []}, expected={"success": True, "resources_created": ["br-a"]}),
        Case(input={"bridge_name": "br-b", "interfaces": ["nope0"]}, expected=None),
        Case(input={"bridge_name": "br-c", "interfaces": ["eno1"]}, expected=None),
    ]
    with pytest.raises(SggitError, match="which gene"):
        evaluator.evaluate([seed], cases)
    with focus(gene):
        good, planted = evaluator.evaluate([seed, plant_bug(seed)], cases)
    assert good.results == [True, False, True]
    assert good.errors[1] == "gene reported failure: interface not found: nope0"
    assert planted.results == [False, False, False]
    assert (planted.errors[0] or "").startswith("gene reported failure: br-a exists and is not a bridge")
    def with_bridge() -> MockKernel:
        kernel = MockKernel()
        kernel.create_bridge("br0")
        return kernel

    stp = SandboxEvaluator(pool, with_bridge, gene=org.tree.genes["bridge_stp"])
    fixed, wrong_shape = stp.evaluate([STP_FIX, STP_WRONG_SHAPE], [Case(input={"bridge": "br0", "enabled": True}, expected=None)])
    assert fixed.passed == 1
    assert wrong_shape.passed == 0 and "does not match gives" in (wrong_shape.errors[0] or "")


def test_a_low_risk_mutant_joins_the_stack_after_one_real_run(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    genome = Genome.open(project)
    only_broken_stp(genome)
    engine = FixtureEngine(fixtures(tmp_path, "bridge_stp", STP_FIX), state_dir=tmp_path / "state")
    org, kernel = organism(project, pool, engine=engine, wait_verify=False)
    kernel.create_bridge("br0")
    result = org.run("bridge_stp", {"bridge": "br0", "enabled": True})
    assert result.ok, result.error
    mutant = result.trace[-1].allele
    actions = [c.action for c in phenostore.history(genome, "dell_r740", limit=2)]
    assert actions == ["recessive", "register"]  # low risk: no shadow-first, no canary
    assert phenostore.history(genome, "dell_r740", limit=2)[-1].summary.endswith("as shadow")
    assert org.phenotype().locus("bridge_stp").alleles[mutant].state == "recessive"
    assert mutant in org.phenotype().locus("bridge_stp").stack


def test_a_low_risk_mutant_that_fails_its_first_run_is_rolled_back(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    genome = Genome.open(project)
    only_broken_stp(genome)
    engine = FixtureEngine(fixtures(tmp_path, "bridge_stp", STP_WRONG_SHAPE), state_dir=tmp_path / "state")
    org, kernel = organism(project, pool, engine=engine, wait_verify=False)
    kernel.create_bridge("br0")
    result = org.run("bridge_stp", {"bridge": "br0", "enabled": True})
    assert not result.ok
    mutant = next(a for a in org.phenotype().locus("bridge_stp").alleles if read_lineage(genome, "bridge_stp", a).origin == "mutation")
    assert org.phenotype().locus("bridge_stp").alleles[mutant].state == "shadow"
    assert kernel.get_stp("br0")["enabled"] is False  # its set_stp was undone by the transaction
    assert [a.allele for a in result.trace].count(mutant) == 1
    assert any("failed its first run" in e for e in result.events)


def test_a_high_risk_mutant_that_fails_its_shadow_replay_never_touches_the_real_kernel(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    genome = Genome.open(project)
    broken = add_allele(genome, "mac_preserve", RAISES, state="dominant")
    for allele in phenostore.read_phenotype(genome, "dell_r740").locus("mac_preserve").stack[1:]:
        phenostore.demote(genome, "dell_r740", "mac_preserve", allele)
    without_reexpression(genome)
    sets_wrong_mac = (
        "import json\nimport gene_sdk\n\n"
        "def execute(input_json):\n"
        "    data = json.loads(input_json)\n"
        "    gene_sdk.set_mac(data['bridge'], '02:00:00:00:00:99')\n"
        "    return json.dumps({'success': True, 'mac': 42, 'source': 'uplink', 'error': None})\n"
    )
    engine = FixtureEngine(fixtures(tmp_path, "mac_preserve", sets_wrong_mac), state_dir=tmp_path / "state")
    org, kernel = organism(project, pool, engine=engine, wait_verify=False)
    kernel.create_bridge("br0")
    kernel.add_port("br0", "eno1")
    before = kernel.get_link("br0")["mac"]
    result = org.run("mac_preserve", {"bridge": "br0", "uplink": "eno1"})
    assert not result.ok and broken in [a.allele for a in result.trace]
    mutant = next(a for a in org.phenotype().locus("mac_preserve").alleles if read_lineage(genome, "mac_preserve", a).origin == "mutation")
    assert org.phenotype().locus("mac_preserve").alleles[mutant].state == "shadow"
    assert kernel.get_link("br0")["mac"] == before
    assert not [a for a in result.trace if a.allele == mutant]
    assert any("stays shadow" in e for e in result.events)


def heal_planted(root: Path, phenotype: str, *, seed: int = 1) -> HealReport:
    """A planted bug in a shipped seed, made dominant, then healed by gp and promoted by a phenotype commit."""
    planted = plant_regression(Genome.open(root), phenotype)
    with open_organism(root=root, phenotype=phenotype, wait_verify=False) as org:
        report = heal(org, "bridge_create", engine_for(org, "gp", seed=seed, max_candidates=400), count=5)
    assert report.parent == planted
    return report


def test_gp_heals_a_planted_bug_in_a_shipped_seed_and_promotes_it(project: Path) -> None:
    report = heal_planted(project, "dell_r740")
    genome = Genome.open(project)
    assert report.healed and report.winner is not None and report.state == "dominant"
    entry = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create")
    assert entry.dominant == report.winner
    planted = report.parent
    assert planted is not None and planted in entry.stack
    lineage = read_lineage(genome, "bridge_create", report.winner)
    assert lineage is not None and lineage.engine == "gp" and lineage.parents == [planted]
    tip = phenostore.history(genome, "dell_r740", limit=1)[0]
    assert tip.summary == f"sggit: promote bridge_create to {report.winner[:12]} on dell_r740"
    assert tip.trailers["Sggit-Allele"] == report.winner
    assert report.promotion is not None and report.promotion.fast_forwarded
    assert any("gp" == t.engine and t.passed == t.total for t in report.tried)


def test_a_healed_high_risk_locus_waits_for_review(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    genome = Genome.open(project)
    fixed = (
        "import json\nimport gene_sdk\n\n"
        "def execute(input_json):\n"
        "    data = json.loads(input_json)\n"
        "    mac = gene_sdk.get_link(data['bridge'])['mac']\n"
        "    return json.dumps({'success': True, 'mac': mac, 'source': 'current', 'error': None})\n"
    )
    broken = add_allele(genome, "mac_preserve", RAISES, state="dominant")
    org, kernel = organism(project, pool, wait_verify=False)
    kernel.create_bridge("br0")
    kernel.add_port("br0", "eno1")
    assert org.run_locus("mac_preserve", {"bridge": "br0", "uplink": "eno1"}).ok  # the seed behind it stood in
    assert "this allele is broken" in recorded_failures(org, "mac_preserve")[0][1]
    org.engine = FixtureEngine(fixtures(tmp_path, "mac_preserve", fixed), state_dir=tmp_path / "state")
    report = heal(org, "mac_preserve", org.engine)
    assert report.winner is not None and report.state == "canary"
    assert report.winner not in org.phenotype().locus("mac_preserve").stack
    assert report.promotion is not None and not report.promotion.fast_forwarded
    assert org.phenotype().locus("mac_preserve").dominant != report.winner
    assert broken != report.winner


def test_engine_settings_choose_the_engine(project: Path, pool: WorkerPool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    org, _ = organism(project, pool)
    assert engine_for(org, None, default="none").name == "none"
    assert engine_for(org, None, default="auto").name == "gp"
    org.genome.repo.config["sggit.engine"] = "gp"
    assert engine_for(org, None, default="none").name == "gp"
    assert engine_for(org, "none").name == "none"
