"""`make demo` end to end: what it promises a first-time user actually happens."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from sggit.demo import run_demo
from sggit.genome import phenostore
from sggit.genome.repo import Genome
from tests.workflow.test_readme_flapping import walkthrough


def test_demo_initialises_runs_and_shows_history(tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "demo-host")
    root = tmp_path / "genome"
    assert run_demo(root) == 0
    captured = capfd.readouterr()
    out = captured.out + captured.err
    assert "$ sggit init" in out and "registered 12 seed allele(s)" in out
    assert "$ sggit run provision_management_bridge" in out
    genome = Genome.open(root)
    assert set(phenostore.phenotype_names(genome)) == {"dell_r740", "supermicro_x11"}
    log = subprocess.run(["git", "-C", str(root), "log", "--format=%s", "phenotype/dell_r740"], capture_output=True, text=True, check=True).stdout
    assert "create phenotype dell_r740 for production_server" in log
    assert "refs/notes/sggit/fitness/demo-host" in out
    assert_tells_the_flapping_story(genome, out)
    # the regression: fallback answered, gp healed it, and the promotion is a commit with a PR body
    assert 'failed (gene reported failure, gene said "br-demo exists and is not a bridge")' in out
    told = " ".join(out.split())
    assert re.search(r" (\d+)/\1 PASS", out) and "bridge_create is low risk" in told
    assert "sggit rollback --phenotype dell_r740" in out
    pmap = phenostore.read_phenotype(genome, "dell_r740")
    healed = pmap.locus("bridge_create").dominant
    assert healed is not None and f"{healed[:7]} is now dominant" in told
    promote = [c for c in phenostore.history(genome, "dell_r740") if c.trailers.get("Sggit-Action") == "promote"]
    assert promote and promote[0].trailers["Sggit-Allele"] == healed
    assert_treats_existing_bridges_as_existing(genome, healed)
    assert_fits_a_screen_or_two(out, healed)


def assert_tells_the_flapping_story(genome: Genome, out: str) -> None:
    """The seed demoted, the gratuitous-ARP allele promoted, and the numbers that decided it."""
    import re

    pmap = phenostore.read_phenotype(genome, "dell_r740")
    entry = pmap.locus("bridge_uplink")
    mutant = entry.dominant
    assert mutant is not None and entry.alleles[mutant].state == "dominant"
    assert "flapping between eno1 and eno2" in out
    seed_line = re.search(r"seed (\w{7}) \(moves the port only\): immediate (\d+)/(\d+) ok, convergence (\d+)/(\d+) ok", out)
    mutant_line = re.search(rf"mutant {mutant[:7]} \(sends gratuitous ARP after the move\): immediate \d+/\d+ ok, convergence (\d+)/(\d+) ok", out)
    assert seed_line and mutant_line, out
    assert int(seed_line.group(4)) < int(seed_line.group(5)), "the seed's convergence failures are shown"
    assert mutant_line.group(1) == mutant_line.group(2), "the mutant converged every time"
    seed = seed_line.group(1)
    assert any(c.trailers.get("Sggit-Action") == "demote" and c.trailers.get("Sggit-Allele", "").startswith(seed)
               for c in phenostore.history(genome, "dell_r740"))
    # the commands are README's walkthrough (the demo shows every move's trace with --format text)
    readme, _ = walkthrough()
    shown = [line[2:].replace(" --format text", "") for line in out.splitlines() if line.startswith("$ sggit ")]
    assert [c.replace(" --explain", "") for c in readme if c.startswith(("sggit kernel inject", "sggit run bridge_uplink"))] == \
        [c for c in shown if c.startswith(("sggit kernel inject", "sggit run bridge_uplink"))]
    told = " ".join(out.split())  # the narration is wrapped
    assert "failures in a row it was demoted" in told and f"allele {mutant[:7]}, which converged and is now dominant" in told


def assert_fits_a_screen_or_two(out: str, healed: str) -> None:
    lines = out.splitlines()
    assert len(lines) < 130, f"{len(lines)} lines"  # two stories: the network genome (about 95 lines), then the data pipeline
    assert not any(line.strip() in ("{", "}", "[", "]") for line in lines), "no JSON dumps"
    heal = out[out.index("==== 4."):out.index("==== 5.")]
    assert "now dominant" in " ".join(heal.split()) and "now recessive" not in heal, "the heal story never contradicts itself"


def assert_treats_existing_bridges_as_existing(genome: Genome, allele: str) -> None:
    """The healed allele is a real repair, not a patch that merely passes the cases."""
    import json

    from sggit.genome.alleles import allele_source
    from sggit.kernel.local_sdk import bind_gene_sdk, load_gene
    from sggit.kernel.mock import MockKernel

    kernel = MockKernel()
    kernel.create_bridge("br0")
    kernel.set_link_up("br0")
    execute = load_gene(allele_source(genome, allele).decode(), bind_gene_sdk(kernel))
    result = json.loads(execute(json.dumps({"bridge_name": "br0", "interfaces": [], "stp_enabled": False})))
    assert result["success"] is True and result["changed"] is False  # re-applied, not rebuilt
    clash = json.loads(execute(json.dumps({"bridge_name": "eth0", "interfaces": [], "stp_enabled": False})))
    assert clash["success"] is False and "not a bridge" in clash["error"]
    fresh = json.loads(execute(json.dumps({"bridge_name": "br1", "interfaces": [], "stp_enabled": False})))
    assert fresh["success"] is True and fresh["changed"] is True
