"""Planning and deploying production_server on the mock kernel.

Planning is read-only: it is measured against one `list_links` of the same
kernel. Deploying (5 pathway runs, dependencies, verify) is measured against
running the same 5 pathways one after another by hand on a fresh host, so the
ratio is what the planner, the concurrency and the verify block add or save.

    pytest benchmarks/bench_topology.py --benchmark-only -s
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.init import init_project
from sggit.genome.repo import Genome
from sggit.kernel.mock import MockKernel
from sggit.runtime import fusion
from sggit.runtime import topology as t
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import SandboxConfig, WorkerPool
from sggit.runtime.session import mock_description


@pytest.fixture(autouse=True)
def _host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "benchhost")


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(SandboxConfig(), size=4) as p:
        yield p


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh genome where nothing fuses, so every round runs the same (unfused) pathways."""
    init_project(tmp_path / "genome")

    def never(pmap):  # type: ignore[no-untyped-def]
        out = pmap.model_copy(deep=True)
        out.settings[fusion.THRESHOLD_SETTING] = 10**9
        return out

    phenostore.change_phenotype(Genome.open(tmp_path / "genome"), "dell_r740", never, action="settings", subject="no fusion while measuring")
    return tmp_path / "genome"


def _organism(project: Path, pool: WorkerPool) -> Organism:
    genome = Genome.open(project)
    return Organism(genome, load_tree(project / "contracts"), "dell_r740", MockKernel(mock_description(genome, "dell_r740")), pool, wait_verify=False)


def test_plan_vs_reading_the_links(benchmark, project: Path, pool: WorkerPool) -> None:
    org = _organism(project, pool)
    plan = benchmark(t.plan_on, org)
    assert {c.action for c in plan.changes} == {"create"}
    reads = []
    for _ in range(50):
        start = time.perf_counter()
        org.kernel.list_links()
        reads.append(time.perf_counter() - start)
    ratio = benchmark.stats.stats.min / min(reads)
    benchmark.extra_info.update({"list_links_s": min(reads), "ratio_vs_list_links": ratio})
    print(f"\nplan production_server: {benchmark.stats.stats.min * 1000:.2f} ms, {ratio:.1f}x one list_links")


def test_deploy_vs_the_same_pathways_by_hand(benchmark, project: Path, pool: WorkerPool) -> None:
    org = _organism(project, pool)
    description = mock_description(org.genome, "dell_r740")
    invocations = t.plan_invocations(org.tree, "production_server", dict(org.phenotype().bindings))

    def fresh() -> tuple[tuple[Organism], dict]:
        org.kernel = MockKernel(description)
        return (org,), {}

    def deploy(o: Organism) -> t.DeployReport:
        return t.deploy_on(o)[1]

    benchmark.pedantic(deploy, setup=fresh, rounds=5, iterations=1)
    assert all(r.status == "created" for r in deploy(fresh()[0][0]).resources)

    def by_hand() -> float:
        org.kernel = MockKernel(description)
        start = time.perf_counter()
        for inv in invocations:
            assert org.run_pathway(inv.pathway, inv.inputs).ok
        return time.perf_counter() - start

    baseline = min(by_hand() for _ in range(5))
    ratio = benchmark.stats.stats.min / baseline
    benchmark.extra_info.update({"by_hand_s": baseline, "ratio_vs_by_hand": ratio})
    print(f"\ndeploy production_server: {benchmark.stats.stats.min * 1000:.1f} ms, {ratio:.2f}x the 5 pathways by hand (without verify)")


def test_deploy_with_its_verify_windows_vs_the_same_pathways_by_hand(benchmark, project: Path, pool: WorkerPool) -> None:
    """Windows waited for (as `sggit deploy` does): the topology's shared 60 s window is a
    deadline, so the deploy costs no more than its pathways with their own step checks."""
    genome = Genome.open(project)
    description = mock_description(genome, "dell_r740")
    org = Organism(genome, load_tree(project / "contracts"), "dell_r740", MockKernel(description), pool, wait_verify=True)
    invocations = t.plan_invocations(org.tree, "production_server", dict(org.phenotype().bindings))

    def fresh() -> tuple[tuple[Organism], dict]:
        org.kernel = MockKernel(description)
        return (org,), {}

    benchmark.pedantic(lambda o: t.deploy_on(o)[1], setup=fresh, rounds=5, iterations=1)

    def by_hand() -> float:
        org.kernel = MockKernel(description)
        start = time.perf_counter()
        for inv in invocations:
            assert org.run_pathway(inv.pathway, inv.inputs).ok
        return time.perf_counter() - start

    baseline = min(by_hand() for _ in range(5))
    ratio = benchmark.stats.stats.min / baseline
    benchmark.extra_info.update({"by_hand_s": baseline, "ratio_vs_by_hand": ratio})
    print(f"\ndeploy production_server with verify: {benchmark.stats.stats.min * 1000:.1f} ms, {ratio:.2f}x the 5 pathways by hand")


def test_a_second_deploy_that_changes_nothing_vs_planning(benchmark, project: Path, pool: WorkerPool) -> None:
    """Nothing to create: no pathway runs and no window is waited for; the checks run once."""
    genome = Genome.open(project)
    org = Organism(genome, load_tree(project / "contracts"), "dell_r740", MockKernel(mock_description(genome, "dell_r740")), pool, wait_verify=True)
    t.deploy_on(org)
    clock = org.kernel.now()
    report = benchmark.pedantic(lambda: t.deploy_on(org)[1], rounds=5, iterations=1)
    assert {r.status for r in report.resources} == {"unchanged"}
    slept = org.kernel.now() - clock
    plans = []
    for _ in range(5):
        start = time.perf_counter()
        t.plan_on(org)
        plans.append(time.perf_counter() - start)
    ratio = benchmark.stats.stats.min / min(plans)
    benchmark.extra_info.update({"plan_s": min(plans), "ratio_vs_plan": ratio, "virtual_seconds_waited": slept})
    print(f"\nsecond deploy: {benchmark.stats.stats.min * 1000:.1f} ms, {ratio:.1f}x planning; virtual time passed {slept:.4f} s over 5 deploys")
