"""`sggit gc` on the shipped genome: what goes, what stays and why, and that nothing is lost."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from sggit.genome import phenostore
from sggit.genome.alleles import allele_path, alleles_at, loci, register_allele
from sggit.genome.lineage import Lineage
from sggit.genome.repo import GENOME_REF, Genome
from tests.genome.helpers import flat_genome
from tests.helpers import sg

DAY = 86400.0
LOCUS = "bridge_create"


@pytest.fixture
def project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fresh genome, as the current directory: the commands here name no project."""
    monkeypatch.chdir(project)
    return project


def allele(genome: Genome, tag: str, *, days_old: float, parents: list[str] | None = None) -> str:
    source = f"import json\n\n\ndef execute(input_json):\n    return json.dumps({{'success': False, 'resources_created': [], 'error': '{tag}'}})\n"
    lineage = Lineage(locus=LOCUS, origin="manual", parents=parents or [], time=time.time() - days_old * DAY)
    return register_allele(genome, LOCUS, source, lineage).id


def state(genome: Genome, phenotype: str, allele_id: str, lifecycle: str) -> None:
    phenostore.register_in_phenotype(genome, phenotype, LOCUS, allele_id, "recessive")
    if lifecycle != "recessive":
        phenostore.set_lifecycle(genome, phenotype, LOCUS, allele_id, lifecycle)


def test_gc_removes_only_old_deprecated_unexpressed_unrelated_alleles(project: Path) -> None:
    genome = Genome.open(project)
    stale = allele(genome, "stale", days_old=30)
    ancestor = allele(genome, "ancestor", days_old=30)
    child = allele(genome, "child", days_old=30, parents=[ancestor])
    young = allele(genome, "young", days_old=2)
    elsewhere = allele(genome, "elsewhere", days_old=30)
    for a in (stale, ancestor, young, elsewhere):
        state(genome, "dell_r740", a, "deprecated")
    state(genome, "dell_r740", child, "recessive")
    state(genome, "supermicro_x11", elsewhere, "recessive")
    before = genome.target(GENOME_REF)
    dry = sg("gc", "--dry-run", "--format", "json")
    listed = json.loads(dry.output)
    assert [r["allele"] for r in listed["removed"]] == [stale]
    assert listed["kept_ancestors"] == 1 and listed["kept_young"] == 1
    assert genome.target(GENOME_REF) == before and stale in alleles_at(genome, LOCUS)

    done = sg("gc")
    assert f"removed {LOCUS} {stale[:12]}" in done.output and "removed 1 allele(s)" in done.output
    remaining = alleles_at(genome, LOCUS)
    assert stale not in remaining and {ancestor, child, young, elsewhere} <= set(remaining)
    # the blob stays in history: the gc commit's parent still holds it, and git can read it back
    tip = genome.repo[genome.target(GENOME_REF)]
    assert tip.parents[0].id == before and "Sggit-Action: gc" in tip.message
    assert (tip.parents[0].tree / allele_path(LOCUS, stale)).id == genome.repo[stale].id
    shown = subprocess.run(["git", "-C", str(project), "cat-file", "-p", stale], capture_output=True, text=True, check=True)
    assert "'stale'" in shown.stdout
    loose = subprocess.run(["git", "-C", str(project), "count-objects", "-v"], capture_output=True, text=True, check=True).stdout
    assert "count: 0" in loose.splitlines()

    again = sg("gc", "--older-than", "1d")
    assert f"removed {LOCUS} {young[:12]}" in again.output


def test_gc_age_comes_from_git_config_and_a_bad_age_is_a_clear_error(project: Path) -> None:
    genome = Genome.open(project)
    old = allele(genome, "old", days_old=5)
    state(genome, "dell_r740", old, "deprecated")
    assert sg("gc", "--dry-run", code=None).output.startswith("would remove 0 allele(s)")
    genome.repo.config["sggit.gc.olderThan"] = "3d"
    assert f"would remove {LOCUS} {old[:12]}" in sg("gc", "--dry-run", code=None).output
    bad = sg("gc", "--older-than", "soon", code=2)
    assert "not a duration: 'soon'" in bad.output and "Traceback" not in bad.output


def test_gc_judges_each_locus_of_a_shared_source_on_its_own(project: Path) -> None:
    """One blob at two loci: deprecated and old at one, expressed at the other; only the first path goes."""
    genome = Genome.open(project)
    shared = allele(genome, "shared", days_old=30)
    other = "bridge_uplink"
    assert register_allele(genome, other, genome.repo[shared].data, Lineage(locus=other, origin="manual", time=time.time() - 30 * DAY)).id == shared
    state(genome, "dell_r740", shared, "deprecated")
    phenostore.register_in_phenotype(genome, "dell_r740", other, shared, "recessive")
    done = sg("gc")
    assert f"removed {LOCUS} {shared[:12]}" in done.output and "removed 1 allele(s)" in done.output
    assert shared not in alleles_at(genome, LOCUS) and shared in alleles_at(genome, other)


def test_gc_on_a_genome_in_the_flat_layout_moves_it_first_then_removes(project: Path) -> None:
    genome = Genome.open(project)
    stale = allele(genome, "stale", days_old=30)
    kept = allele(genome, "kept", days_old=30)
    state(genome, "dell_r740", stale, "deprecated")
    state(genome, "dell_r740", kept, "recessive")
    flat = flat_genome(project)
    before = {locus: alleles_at(genome, locus) for locus in loci(genome)}
    done = sg("gc")
    assert f"removed {LOCUS} {stale[:12]}" in done.output and "removed 1 allele(s)" in done.output
    log = subprocess.run(["git", "-C", str(project), "log", "--format=%(trailers:key=Sggit-Action,valueonly,separator=)", "sggit/genome"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert log[:2] == ["gc", "migrate"]
    tip = genome.repo[genome.target(GENOME_REF)]
    assert str(tip.parents[0].parents[0].id) == flat
    assert (tip.parents[0].tree / allele_path(LOCUS, stale)).id == genome.repo[stale].id
    after = {locus: alleles_at(genome, locus) for locus in loci(genome)}
    assert after == {**before, LOCUS: [a for a in before[LOCUS] if a != stale]} and kept in after[LOCUS]
    files = subprocess.run(["git", "-C", str(project), "ls-tree", "-r", "--name-only", "sggit/genome"], capture_output=True, text=True, check=True).stdout.split()
    assert all(len(f.split("/")) == 4 for f in files) and allele_path(LOCUS, kept) in files
