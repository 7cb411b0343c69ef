"""`make demo` end to end: what it promises a first-time user actually happens."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from sggit.demo import run_demo
from sggit.genome import phenostore
from sggit.genome.repo import Genome


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
    # the incident: flapping seen, a mutant from the failure context took over
    assert "flapping: " in out and "on eno1, eno2" in out and "promoted: yes" in out
    # the regression: fallback answered, gp healed it, and the promotion is a commit with a PR body
    assert "failed (bad_output): gene reported failure: br-demo exists and is not a bridge" in out
    assert re.search(r" (\d+)/\1 PASS", out) and "(fast-forwarded)" in out
    assert "```diff" in out and "sggit rollback --phenotype dell_r740" in out
    pmap = phenostore.read_phenotype(genome, "dell_r740")
    healed = pmap.locus("bridge_create").dominant
    promote = [c for c in phenostore.history(genome, "dell_r740") if c.trailers.get("Sggit-Action") == "promote"]
    assert promote and promote[0].trailers["Sggit-Allele"] == healed
    assert_treats_existing_bridges_as_existing(genome, healed)


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
