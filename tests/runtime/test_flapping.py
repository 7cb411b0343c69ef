"""Issue 5 end to end on the mock kernel: an uplink change, MAC flapping, a mutant that converges."""

from __future__ import annotations

from pathlib import Path

from sggit.app.scenarios import mac_flapping_scenario
from sggit.engines.base import MutationContext, Proposal
from sggit.engines.fixture import FixtureEngine
from sggit.genome import phenostore
from sggit.genome.alleles import allele_source
from sggit.genome.lineage import read_lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.kernel.mock import MockKernel
from sggit.runtime.session import mock_description, open_organism

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "alleles"


class SeenFixtureEngine(FixtureEngine):
    """The fixture engine, keeping the contexts it was asked with (what any engine receives)."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.seen: list[MutationContext] = []

    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        self.seen.append(context)
        return super().propose(context, count)


def lower_promotion_threshold(genome: Genome, invocations: int) -> None:
    """Few invocations suffice, and demotion waits longer, so selection is by promotion."""

    def settings(pmap):  # type: ignore[no-untyped-def]
        pmap = pmap.model_copy(deep=True)
        pmap.settings["bridge_uplink"] = {"promote_min_invocations": invocations, "demote_after": 10}
        return pmap

    phenostore.change_phenotype(genome, "dell_r740", settings, action="settings", subject="lower thresholds for the test")


def test_mac_flapping_mutant_converges_and_is_promoted(project: Path, tmp_path: Path) -> None:
    genome = Genome.open(project)
    lower_promotion_threshold(genome, 2)
    seed = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_uplink").dominant
    assert seed is not None
    engine = SeenFixtureEngine(FIXTURES, state_dir=tmp_path / "engine")

    report = mac_flapping_scenario(project, "dell_r740", engine, rounds=6)

    # the naive seed moved the port, then the FDB check saw the bridge MAC on both NICs
    first = report.rounds[0]
    assert first.uplink == "eno2"
    assert [(a["allele"], a["ok"], a["kind"], a["convergence"]) for a in first.attempts][0] == (seed, False, "convergence", False)
    assert report.flapping and sorted(report.flapping[0]["ports"]) == ["eno1", "eno2"]

    # the engine received the failure: the seed's source, the flapping output, the input
    assert len(engine.seen) == 1
    context = engine.seen[0]
    assert context.parent == seed
    assert context.parent_source == allele_source(genome, seed).decode()
    assert (context.failing_input["bridge"], context.failing_input["uplink"]) == ("mgmt", "eno2")
    fdb = [d for d in context.diagnostics if d["locus"] == "check_fdb_stability"]
    assert fdb and fdb[0]["healthy"] is False
    assert fdb[0]["output"]["flapping_macs"][0]["ports"] == ["eno1", "eno2"]
    assert "convergence check failed" in (context.error or "")

    # the garp mutant is the fixture, descends from the seed, and converges every time
    mutant = report.mutant
    assert mutant is not None
    assert allele_source(genome, mutant).decode() == (FIXTURES / "bridge_uplink" / "garp.py").read_text()
    assert read_lineage(genome, "bridge_uplink", mutant).parents == [seed]
    conv = [(r.allele, r.ok) for r in pending_records(genome) if r.locus == "bridge_uplink" and r.timescale == "convergence"]
    assert (seed, False) in conv and all(ok for allele, ok in conv if allele == mutant)
    assert sum(1 for allele, _ in conv if allele == mutant) >= 3
    assert not any(e.startswith("demoted") for e in report.events)

    # promoted by a phenotype commit once it has the invocations and the margin
    assert report.promoted
    assert phenostore.read_phenotype(genome, "dell_r740").locus("bridge_uplink").dominant == mutant
    promotion = phenostore.history(genome, "dell_r740", limit=1)[0]
    assert promotion.trailers["Sggit-Action"] == "promote"
    assert promotion.trailers["Sggit-Allele"] == mutant
    assert report.fitness[mutant] > report.fitness[seed] + 0.1
    assert "flapping" in report.render() and "promoted: yes" in report.render()


def test_convergence_failures_demote_the_seed_and_the_next_run_uses_the_mutant(project: Path, tmp_path: Path) -> None:
    """Without lowered promotion thresholds the arena's other rule acts: three non-converging runs demote."""
    genome = Genome.open(project)
    seed = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_uplink").dominant
    engine = SeenFixtureEngine(FIXTURES, state_dir=tmp_path / "engine")

    report = mac_flapping_scenario(project, "dell_r740", engine, rounds=4)

    tried = [[a["allele"] for a in r.attempts] for r in report.rounds]
    assert tried == [[seed, report.mutant]] * 3
    assert any(e.startswith("demoted bridge_uplink") for e in report.events)
    entry = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_uplink")
    assert entry.dominant == report.mutant and entry.stack[-1] == seed
    demotion = [c for c in phenostore.history(genome, "dell_r740", limit=5) if c.trailers.get("Sggit-Action") == "demote"]
    assert demotion and demotion[0].trailers["Sggit-Allele"] == seed

    with open_organism(root=project, phenotype="dell_r740", kernel=MockKernel(mock_description(genome, "dell_r740"))) as org:
        assert org.run("bridge_create", {"bridge_name": "br9", "interfaces": []}).ok
        result = org.run("bridge_uplink", {"bridge": "br9", "uplink": "eno3"})
    assert result.ok
    assert [a.allele for a in result.trace if a.locus == "bridge_uplink"] == [report.mutant]
