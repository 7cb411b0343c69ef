"""Judging gp candidates in the sandbox against the gp engine's own process evaluator.

Both evaluators score the same batch of candidates (single edits of the shipped
bridge_create seed with a planted bug) on the same cases, in the same session.
The sandbox adds confinement, a kernel API answered by a fresh mock kernel per
case, and the contract's `gives` check; the figure is its cost per candidate as a
ratio of the process evaluator's, stored in `extra_info` and printed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from sggit.app.scenarios import plant_bug
from sggit.contract.tree import load_tree
from sggit.engines.base import Case
from sggit.engines.gp import ProcessEvaluator
from sggit.genome import phenostore
from sggit.genome.alleles import allele_source
from sggit.genome.init import init_project
from sggit.genome.repo import Genome
from sggit.kernel.mock import MockKernel
from sggit.runtime.evaluate import SandboxEvaluator
from sggit.runtime.sandbox import SandboxConfig, WorkerPool

N = 24


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], list[Case], SandboxEvaluator]]:
    root = tmp_path_factory.mktemp("bench-lifecycle") / "genome"
    init_project(root)
    genome = Genome.open(root)
    gene = load_tree(root / "contracts").genes["bridge_create"]
    seed = allele_source(genome, phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").dominant).decode()
    broken = plant_bug(seed)
    sources = [broken + f"\n_variant = {i}\n" for i in range(N)]
    cases = [Case(input={"bridge_name": "br-example", "interfaces": [], "stp_enabled": False}, expected={"success": True})]
    with WorkerPool(SandboxConfig(), size=2) as pool:
        yield sources, cases, SandboxEvaluator(pool, MockKernel, gene=gene)


def test_sandbox_evaluator_cost_per_candidate(benchmark, setup) -> None:  # type: ignore[no-untyped-def]
    sources, cases, sandbox = setup
    with ProcessEvaluator(workers=2) as local:
        local.evaluate(sources[:2], cases)
        started = time.perf_counter()
        baseline = local.evaluate(sources, cases)
        base_s = (time.perf_counter() - started) / N
    result = benchmark(sandbox.evaluate, sources, cases)
    ours = benchmark.stats.stats.mean / N
    assert [e.passed for e in result] == [e.passed for e in baseline]
    benchmark.extra_info.update({"sandbox_us": ours * 1e6, "process_us": base_s * 1e6, "ratio": ours / base_s})
    print(f"\nsandbox evaluator: {ours * 1e6:.0f} us/candidate, process evaluator {base_s * 1e6:.0f} us, ratio {ours / base_s:.1f}x")
