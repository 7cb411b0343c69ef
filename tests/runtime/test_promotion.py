from __future__ import annotations

import json
from pathlib import Path

import pygit2

from sggit.app.promotion import Promotion, find_promotions, pending, write_promotion
from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.alleles import register_allele
from sggit.genome.fitness import Record
from sggit.genome.lineage import Failure, Lineage
from sggit.genome.phenolayout import read_tree
from sggit.genome.repo import Genome
from sggit.genome.sync import record

from .helpers import add_allele

CHALLENGER = """
import json

def execute(input_json):
    data = json.loads(input_json)
    return json.dumps({"success": True, "resources_created": [data["bridge_name"]], "error": None})
"""

EVOLVED_MAC = """
import json

def execute(input_json):
    return json.dumps({"success": True, "mac": None, "source": "current", "error": None})
"""


def earn(genome: Genome, allele: str, locus: str, n: int, ok: bool = True) -> None:
    for i in range(n):
        record(genome, Record(allele=allele, locus=locus, ok=ok, input={"bridge_name": f"br{i}", "interfaces": []}))


def map_at(genome: Genome, commit: str, phenotype: str = "dell_r740"):  # type: ignore[no-untyped-def]
    tree = genome.repo[commit].peel(pygit2.Commit).tree
    return read_tree(genome.repo, tree, phenotype, commit).pmap


def test_a_fitter_allele_becomes_a_promotion_commit_on_its_own_branch(project: Path) -> None:
    genome = Genome.open(project)
    tree = load_tree(project / "contracts")
    old = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").dominant
    challenger = add_allele(genome, "bridge_create", CHALLENGER)
    earn(genome, challenger, "bridge_create", 60)
    earn(genome, old, "bridge_create", 20, ok=False)
    tip = str(genome.target(phenostore.phenotype_ref("dell_r740")))

    found = pending(genome, tree, "dell_r740")
    assert [(p.locus, p.allele, p.reason) for p in found] == [("bridge_create", challenger, "fitness")]
    written = write_promotion(genome, found[0])

    assert str(genome.target(phenostore.phenotype_ref("dell_r740"))) == tip  # not merged without --auto
    commit = genome.repo[written.commit].peel(pygit2.Commit)
    assert [str(p) for p in commit.parent_ids] == [tip]
    assert map_at(genome, written.commit).locus("bridge_create").dominant == challenger
    assert written.branch == "sggit/promote/dell_r740/bridge_create"
    assert commit.message.splitlines()[0] == f"sggit: promote bridge_create to {challenger[:12]} on dell_r740"
    assert phenostore.parse_trailers(commit.message)["Sggit-Allele"] == challenger
    assert f"| proposed | `{challenger[:12]}` | 1.000 | 60/60 |" in written.body
    assert "| hosts | age |" in written.body and "| 1 | 0 min |" in written.body
    assert f"| current | `{old[:12]}` | 0.000 | 0/20 |" in written.body
    assert f"sggit rollback --phenotype dell_r740 {written.commit}" in written.body
    assert '+    return json.dumps({' in written.body
    assert find_promotions(genome, "dell_r740") == [{
        "phenotype": "dell_r740", "locus": "bridge_create", "allele": challenger, "old": old, "reason": "fitness",
        "risk": "low", "branch": written.branch, "commit": written.commit,
    }]


def test_auto_fast_forwards_a_low_risk_promotion_and_rollback_undoes_it(project: Path) -> None:
    genome = Genome.open(project)
    old = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").dominant
    challenger = add_allele(genome, "bridge_create", CHALLENGER)
    written = write_promotion(genome, Promotion(phenotype="dell_r740", locus="bridge_create", allele=challenger, old=old, reason="heal", risk="low"), auto=True)
    assert written.fast_forwarded
    assert str(genome.target(phenostore.phenotype_ref("dell_r740"))) == written.commit
    assert phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").dominant == challenger
    phenostore.rollback(genome, "dell_r740", written.commit)
    assert phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").dominant == old


def test_an_evolved_allele_at_a_high_risk_locus_is_pending_review_and_never_auto_merged(project: Path) -> None:
    genome = Genome.open(project)
    tree = load_tree(project / "contracts")
    old = phenostore.read_phenotype(genome, "dell_r740").locus("mac_preserve").dominant
    lineage = Lineage(locus="mac_preserve", origin="mutation", parents=[old], engine="fixture",
                      failure=Failure(input={"bridge": "br0", "uplink": "eno1"}, error="MAC rejected"))
    evolved = register_allele(genome, "mac_preserve", EVOLVED_MAC.lstrip(), lineage).id
    phenostore.register_in_phenotype(genome, "dell_r740", "mac_preserve", evolved, "recessive")
    tip = str(genome.target(phenostore.phenotype_ref("dell_r740")))

    found = [p for p in pending(genome, tree, "dell_r740") if p.locus == "mac_preserve"]
    assert [(p.allele, p.reason, p.auto_allowed) for p in found] == [(evolved, "review", False)]
    written = write_promotion(genome, found[0], auto=True)
    assert not written.fast_forwarded
    assert str(genome.target(phenostore.phenotype_ref("dell_r740"))) == tip
    assert "MAC rejected" in written.body and "**high**" in written.body
    marker = next(line for line in written.body.splitlines() if "sggit-promotion:" in line)
    assert json.loads(marker.split("sggit-promotion:")[1].rsplit("-->", 1)[0])["reason"] == "review"


def test_a_newer_promotion_of_the_same_locus_replaces_its_branch(project: Path) -> None:
    genome = Genome.open(project)
    first = add_allele(genome, "bridge_create", CHALLENGER)
    second = add_allele(genome, "bridge_create", CHALLENGER + "\n# another\n")
    for allele in (first, second):
        write_promotion(genome, Promotion(phenotype="dell_r740", locus="bridge_create", allele=allele, reason="heal", risk="low"))
    found = find_promotions(genome)
    assert [f["allele"] for f in found] == [second]


def test_critical_loci_need_resilience_evidence_before_promotion() -> None:
    from sggit.app.promotion import Promotion, has_required_evidence
    from sggit.genome.fitness import Counters

    allele = "a" * 40
    critical = Promotion(phenotype="p", locus="l", allele=allele, reason="fitness", risk="critical")
    low = critical.model_copy(update={"risk": "low"})
    no_resilience = {"l": {allele: Counters(total=60, successes=60)}}
    held_up = {"l": {allele: Counters(total=60, successes=60, resilience_total=3, resilience_ok=3)}}
    degraded = {"l": {allele: Counters(total=60, successes=60, resilience_total=3, resilience_ok=2)}}
    assert has_required_evidence(low, no_resilience)
    assert not has_required_evidence(critical, no_resilience)
    assert not has_required_evidence(critical, degraded)
    assert has_required_evidence(critical, held_up)
