"""`sggit heal` with the gp engine says what it is doing, and a failed heal explains itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sggit.app.scenarios import plant_bug
from sggit.genome import phenostore
from sggit.genome.alleles import allele_source, register_allele
from sggit.genome.init import init_project
from sggit.genome.lineage import Lineage
from sggit.genome.repo import Genome
from tests.helpers import sg

RAISES = "import json\n\ndef execute(input_json):\n    raise RuntimeError('this allele is broken')\n"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "genome"
    init_project(root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return root


def make_dominant(genome: Genome, locus: str, source: str) -> str:
    planted = register_allele(genome, locus, source, Lineage(locus=locus, origin="manual")).id
    phenostore.register_in_phenotype(genome, "dell_r740", locus, planted, "recessive")
    phenostore.promote(genome, "dell_r740", locus, planted)
    for other in phenostore.read_phenotype(genome, "dell_r740").locus(locus).stack:
        if other != planted:
            phenostore.demote(genome, "dell_r740", locus, other)
    return planted


def plant(genome: Genome) -> None:
    """The shipped bridge_create seed with a one-token bug, as the only allele expressed."""
    healthy = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").dominant
    assert healthy is not None
    make_dominant(genome, "bridge_create", plant_bug(allele_source(genome, healthy).decode()))


def test_heal_reports_progress_on_stderr_when_asked_and_stops_at_the_first_winner(here: Path) -> None:
    plant(Genome.open(here))
    result = sg("heal", "bridge_create", "--phenotype", "dell_r740", "--engine", "gp", "--seed", "3", "--progress")
    assert "PASS" in result.stdout
    progress = [line for line in result.stderr.splitlines() if "candidates judged" in line]
    assert progress, result.stderr
    assert "best" in progress[-1] and progress[-1].startswith("gp done:")
    tried = [line for line in result.stdout.splitlines() if line.strip()[:2] in {"1.", "2.", "3."}]
    assert len(tried) == 1, "one winner is enough unless --winners asks for more"


def test_heal_is_quiet_on_a_non_terminal_stderr_unless_asked(here: Path) -> None:
    plant(Genome.open(here))
    result = sg("heal", "bridge_create", "--phenotype", "dell_r740", "--engine", "gp", "--seed", "3")
    assert "PASS" in result.stdout and "candidates judged" not in result.stderr


def test_a_failed_heal_says_how_much_it_tried_and_which_cases_nothing_passed(here: Path) -> None:
    genome = Genome.open(here)
    make_dominant(genome, "bridge_create", RAISES)
    result = sg("heal", "bridge_create", "--phenotype", "dell_r740", "--engine", "gp", "--seed", "1",
                "--budget", "40", "--rounds", "1", code=1)
    out = result.stdout
    assert "no candidate passed every case" in out
    [effort] = [line for line in out.splitlines() if "gp judged" in line]
    judged = int(effort.split("gp judged ")[1].split()[0])
    assert 0 < judged <= 40
    assert "best partial score 0/" in effort
    assert "no candidate passed case(s) #1 " in out
    as_json = json.loads(sg("heal", "bridge_create", "--phenotype", "dell_r740", "--engine", "gp", "--seed", "1",
                            "--budget", "40", "--rounds", "1", "--format", "json", code=1).stdout)
    assert any("gp judged" in line for line in as_json["search"])
