"""The organism with real parts: a git genome in tmp, sandbox workers, the mock kernel."""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path

import pytest

from sggit.engines.fixture import FixtureEngine
from sggit.genome import phenostore
from sggit.genome.lineage import read_lineage
from sggit.genome.mutations import proposal_path
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.runtime.organism import CallerError
from sggit.runtime.sandbox import WorkerPool
from tests.runtime.helpers import RAISES, STP_FIX, add_allele, organism, without_reexpression

CREATES_THEN_RAISES = """
import json
import gene_sdk

def execute(input_json):
    data = json.loads(input_json)
    gene_sdk.create_bridge(data["bridge_name"])
    raise RuntimeError("half done")
"""

WRONG_SHAPE = """
import json

def execute(input_json):
    return json.dumps({"success": "yes"})
"""


def records(genome: Genome, locus: str) -> list[tuple[str, bool, str]]:
    return [(r.allele, r.ok, r.timescale) for r in pending_records(genome) if r.locus == locus]


def held_open(project: Path) -> list[str]:
    """The genome's files this process holds open."""
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return sorted(Path(t).name for t in targets if t.startswith(str(project)))


BRIDGE = {"bridge_name": "br0", "interfaces": []}
PATHWAY = {"management_bridge": "mgmt", "uplink_interface": "eno2"}


def test_closing_an_organism_closes_its_journal_and_fusion_log(project: Path, pool: WorkerPool) -> None:
    org, _ = organism(project, pool, wait_verify=False)
    with org:
        assert org.run("bridge_create", BRIDGE).ok and org.run("provision_management_bridge", PATHWAY).ok
        assert {"fitness.journal", "fusion-dell_r740.log", ".fusion-dell_r740.log.lock"} <= set(held_open(project))
    assert held_open(project) == []
    assert org.run("bridge_create", BRIDGE).ok  # a closed organism opens its files again
    org.close()
    assert held_open(project) == []


def test_an_organism_dropped_unclosed_lets_go_of_its_files_when_collected(project: Path, pool: WorkerPool) -> None:
    org, _ = organism(project, pool, wait_verify=False)
    assert org.run("bridge_create", BRIDGE).ok and org.run("provision_management_bridge", PATHWAY).ok
    assert "fitness.journal" in held_open(project)
    del org
    gc.collect()
    assert held_open(project) == []


def test_a_locus_runs_its_dominant_allele_and_is_scored(project: Path, pool: WorkerPool) -> None:
    org, kernel = organism(project, pool)
    dominant = org.phenotype().locus("bridge_create").dominant
    result = org.run("bridge_create", {"bridge_name": "br0", "interfaces": ["eno1"]})
    assert result.ok and result.output == {"success": True, "changed": True, "resources_created": ["br0"], "error": None}
    assert kernel.get_link("br0")["kind"] == "bridge"
    assert [p["name"] for p in kernel.list_ports("br0")] == ["eno1"]
    scored = records(org.genome, "bridge_create")
    assert (dominant, True, "immediate") in scored and (dominant, True, "convergence") in scored


def test_fallback_scores_the_allele_that_ran(project: Path, pool: WorkerPool) -> None:
    genome = Genome.open(project)
    seed = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").dominant
    broken = add_allele(genome, "bridge_create", RAISES, state="dominant")
    org, kernel = organism(project, pool)
    assert org.stack("bridge_create")[:2] == [broken, seed]
    result = org.run("bridge_create", {"bridge_name": "br0", "interfaces": []})
    assert result.ok
    assert [(a.allele, a.ok, a.kind) for a in result.trace if a.locus == "bridge_create"] == [(broken, False, "exception"), (seed, True, None)]
    assert "this allele is broken" in (result.trace[0].error or "")
    scored = [r for r in records(genome, "bridge_create") if r[2] == "immediate"]
    assert scored == [(broken, False, "immediate"), (seed, True, "immediate")]


def test_bad_input_is_the_callers_error_and_never_scored(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    (tmp_path / "fixtures" / "bridge_create").mkdir(parents=True)
    (tmp_path / "fixtures" / "bridge_create" / "x.py").write_text("def execute(input_json):\n    return input_json\n")
    org, _ = organism(project, pool, engine=FixtureEngine(tmp_path / "fixtures", state_dir=tmp_path / "state"))
    for bad in ({}, [1, 2], {"bridge_name": 7, "interfaces": []}):
        with pytest.raises(CallerError) as info:
            org.run("bridge_create", bad)
        assert "invalid input for bridge_create" in str(info.value)
    with pytest.raises(CallerError) as info:
        org.run("bridge_create", {"interfaces": ["eth0", 3]})
    assert "bridge_name: required field is missing" in str(info.value)
    assert "interfaces[1]: expected string, got int" in str(info.value)
    assert records(org.genome, "bridge_create") == []
    assert org.trace == []


def test_a_failed_configuration_gene_is_rolled_back(project: Path, pool: WorkerPool) -> None:
    genome = Genome.open(project)
    half = add_allele(genome, "bridge_create", CREATES_THEN_RAISES, state="dominant")
    seed = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").stack[1]
    phenostore.demote(genome, "dell_r740", "bridge_create", seed)
    phenostore.set_lifecycle(genome, "dell_r740", "bridge_create", seed, "deprecated")
    without_reexpression(genome)
    org, kernel = organism(project, pool)
    result = org.run("bridge_create", {"bridge_name": "brX", "interfaces": []})
    assert not result.ok
    first = result.trace[0]
    assert first.allele == half and first.undo == ["create_bridge"] and first.undo_failures == []
    assert "brX" not in [link["name"] for link in kernel.list_links()]


def test_output_that_breaks_the_contract_is_a_failure(project: Path, pool: WorkerPool) -> None:
    genome = Genome.open(project)
    add_allele(genome, "bridge_create", WRONG_SHAPE, state="dominant")
    org, _ = organism(project, pool)
    result = org.run("bridge_create", {"bridge_name": "br1", "interfaces": []})
    assert result.ok
    bad = result.trace[0]
    assert bad.kind == "bad_output"
    assert "success: expected bool, got string" in (bad.error or "")
    assert "resources_created: required field is missing" in (bad.error or "")


def test_three_consecutive_failures_demote_by_a_phenotype_commit(project: Path, pool: WorkerPool) -> None:
    genome = Genome.open(project)
    broken = add_allele(genome, "bridge_create", RAISES, state="dominant")
    org, _ = organism(project, pool)
    for i in range(3):
        assert org.run("bridge_create", {"bridge_name": f"b{i}", "interfaces": []}).ok
    entry = org.phenotype().locus("bridge_create")
    assert entry.dominant != broken and entry.stack[-1] == broken
    last = phenostore.history(genome, "dell_r740", limit=1)[0]
    assert last.trailers["Sggit-Action"] == "demote" and last.trailers["Sggit-Allele"] == broken
    assert org.stack("bridge_create")[0] == entry.dominant


def test_a_fitter_recessive_is_promoted(project: Path, pool: WorkerPool) -> None:
    genome = Genome.open(project)
    flaky = """
import json

def execute(input_json):
    data = json.loads(input_json)
    if data["bridge_name"].endswith("x"):
        raise RuntimeError("names ending in x are beyond me")
    return json.dumps({"success": True, "resources_created": [], "error": None})
"""
    steady = """
import json

def execute(input_json):
    return json.dumps({"success": True, "resources_created": [], "error": None})
"""
    seed = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").dominant
    flaky_id = add_allele(genome, "bridge_create", flaky, state="dominant")
    steady_id = add_allele(genome, "bridge_create", steady, state="recessive")
    phenostore.set_lifecycle(genome, "dell_r740", "bridge_create", seed, "deprecated")

    def settings(pmap):
        pmap = pmap.model_copy(deep=True)
        pmap.settings["bridge_create"] = {"promote_min_invocations": 4}
        return pmap

    phenostore.change_phenotype(genome, "dell_r740", settings, action="settings", subject="lower thresholds for the test")
    org, _ = organism(project, pool, wait_verify=False)
    # the flaky dominant fails two in three, never three in a row: no demotion, only selection
    for name in ("b0x", "b1x", "b2", "b3x", "b4x"):
        assert org.run("bridge_create", {"bridge_name": name, "interfaces": []}).ok
    assert org.phenotype().locus("bridge_create").dominant == steady_id
    assert not any("demoted" in e for e in org.events)
    promotion = phenostore.history(genome, "dell_r740", limit=1)[0]
    assert promotion.trailers["Sggit-Action"] == "promote"
    assert promotion.trailers["Sggit-Allele"] == steady_id
    assert float(promotion.trailers["Sggit-Fitness"]) > 0
    assert flaky_id in org.phenotype().locus("bridge_create").stack


def test_when_every_allele_fails_the_engine_heals_the_locus(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    genome = Genome.open(project)
    broken = add_allele(genome, "bridge_stp", RAISES, state="dominant")
    for allele in phenostore.read_phenotype(genome, "dell_r740").locus("bridge_stp").stack[1:]:
        phenostore.demote(genome, "dell_r740", "bridge_stp", allele)
    without_reexpression(genome)
    fixtures = tmp_path / "fixtures" / "bridge_stp"
    fixtures.mkdir(parents=True)
    (fixtures / "fix.py").write_text(STP_FIX)
    engine = FixtureEngine(tmp_path / "fixtures", state_dir=tmp_path / "state")
    org, kernel = organism(project, pool, engine=engine, wait_verify=False)
    kernel.create_bridge("br0")
    result = org.run("bridge_stp", {"bridge": "br0", "enabled": True})
    assert result.ok, result.error
    mutant = result.trace[-1]
    assert mutant.origin == "mutation" and mutant.allele != broken
    lineage = read_lineage(genome, "bridge_stp", mutant.allele)
    assert lineage is not None and lineage.origin == "mutation" and lineage.parents == [broken]
    assert lineage.engine == "fixture" and lineage.failure is not None
    assert lineage.failure.input == {"bridge": "br0", "enabled": True, "forward_delay": 15, "hello_time": 2, "max_age": 20}
    assert "this allele is broken" in lineage.failure.error
    assert org.phenotype().locus("bridge_stp").alleles[mutant.allele].state == "recessive"
    branch = genome.repo.references["refs/heads/sggit/mutations/testhost"].peel()
    assert str(branch.tree[proposal_path("bridge_stp", mutant.allele)].id) == mutant.allele
    assert f"Sggit-Parent: {broken}" in branch.message and "this allele is broken" in branch.message
    assert kernel.get_stp("br0")["enabled"] is True


def test_pathways_run_on_the_organism(project: Path, pool: WorkerPool) -> None:
    org, kernel = organism(project, pool)
    result = org.run("provision_management_bridge", {"management_bridge": "mgmt", "uplink_interface": "eno1"})
    assert result.ok, json.dumps(result.as_json(), indent=1)
    assert [p["name"] for p in kernel.list_ports("mgmt")] == ["eno1"]
    loci = [a.locus for a in result.trace if a.ok]
    for locus in ("bridge_create", "bridge_uplink", "mac_preserve", "check_link_state"):
        assert locus in loci


def test_a_gene_may_run_as_long_from_python_as_from_the_command_line(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    """Unless told, an organism gives each allele what its kind of kernel needs: 5 s on a
    virtual clock, 30 s on a wall clock, where a check monitors for real time."""
    from sggit.contract.tree import load_tree
    from sggit.domains.data.kernel import SqlKernel
    from sggit.runtime.organism import Organism

    on_mock, _ = organism(project, pool)
    assert on_mock.timeout == 5.0
    wall = SqlKernel.open_sqlite(str(tmp_path / "wall.db"))
    try:
        tree = load_tree(project / "contracts")
        assert Organism(Genome.open(project), tree, "dell_r740", wall, pool).timeout == 30.0
        assert Organism(Genome.open(project), tree, "dell_r740", wall, pool, timeout=2.0).timeout == 2.0
    finally:
        wall.close(keep=False)
