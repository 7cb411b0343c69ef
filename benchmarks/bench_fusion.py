"""A 6-step pathway fused against the same pathway step by step, on the same inputs.

Both run through `Organism.run_pathway` on the mock kernel, each step a
diagnostic making one gene_sdk call; the ratio (fused / step by step) is the
part of the per-step overhead (worker round trips, JSON, validation, journal
records, the fusion streak) that fusion removes. It is measured on the confined
worker pool and on the in-process stand-in (benchmarks/inprocess.py), where
only the orchestrator's share is left.

    pytest benchmarks/bench_fusion.py --benchmark-only -s
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessPool

from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.init import init_project
from sggit.genome.repo import Genome
from sggit.kernel.mock import MockKernel
from sggit.runtime import fusion
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import SandboxConfig, WorkerPool
from sggit.runtime.session import mock_description

STEPS = 6
PATHWAY = "six_link_checks"
INPUT = {"device": "eno1"}


def _contract() -> str:
    steps = "\n".join(f"    {i}. check_link_state\n         device = {{device}}\n" for i in range(1, STEPS + 1))
    return (
        f"pathway {PATHWAY}\n  risk none\n\n  does:\n    Six link checks in a row.\n\n"
        f"  takes:\n    device  string  \"Device to check\"\n\n  steps:\n{steps}"
    )


@pytest.fixture(autouse=True)
def _host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "benchhost")


@pytest.fixture(scope="module", params=["inprocess", "sandbox"])
def pool(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "inprocess":
        yield InProcessPool()
        return
    with WorkerPool(SandboxConfig(), size=2) as p:
        yield p


def _organism(root: Path, pool: Any, *, fused: bool) -> Organism:
    init_project(root)
    (root / "contracts" / "pathways" / f"{PATHWAY}.sg").write_text(_contract())
    genome = Genome.open(root)

    def never(pmap):  # type: ignore[no-untyped-def]
        out = pmap.model_copy(deep=True)
        out.settings[fusion.THRESHOLD_SETTING] = 10**9
        return out

    phenostore.change_phenotype(genome, "dell_r740", never, action="settings", subject="no fusion while measuring")
    org = Organism(genome, load_tree(root / "contracts"), "dell_r740", MockKernel(mock_description(genome, "dell_r740")), pool, wait_verify=False)
    if fused:
        org.fuse(PATHWAY, {})
    return org


def _best(org: Organism, rounds: int = 200) -> float:
    """The best of many single runs: on a shared machine a short measurement often runs undisturbed."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        org.run_pathway(PATHWAY, INPUT)
        times.append(time.perf_counter() - start)
        del org.trace[:]
    return min(times)


def test_fused_six_step_pathway_vs_step_by_step(benchmark: Any, tmp_path: Path, pool: Any, request: pytest.FixtureRequest) -> None:
    unfused = _organism(tmp_path / "unfused", pool, fused=False)
    fused = _organism(tmp_path / "fused", pool, fused=True)
    assert fused.phenotype().pathways[PATHWAY].state == "fused"
    a, b = unfused.run_pathway(PATHWAY, INPUT), fused.run_pathway(PATHWAY, INPUT)
    assert a.ok and b.ok and a.outputs == b.outputs
    benchmark.pedantic(fused.run_pathway, args=(PATHWAY, INPUT), rounds=30, iterations=1, warmup_rounds=2)
    assert fused.trace[-1].origin == "fusion"
    one, step_by_step = _best(fused), _best(unfused)
    ratio = one / step_by_step
    benchmark.extra_info.update({"steps": STEPS, "fused_s": one, "step_by_step_s": step_by_step, "ratio_fused_vs_step_by_step": ratio})
    print(f"\n{STEPS}-step pathway [{request.node.callspec.id}] fused: {one * 1e6:.0f} us, step by step: {step_by_step * 1e6:.0f} us, ratio {ratio:.2f}")
