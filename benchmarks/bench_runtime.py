"""Orchestrator overhead: a gene call through the organism against calling the allele in-process.

The organism path is the real one: input validated against `takes`, the phenotype's
stack consulted, the allele run in a warm confined sandbox worker, the output
validated against `gives`, and the outcome journalled. The baseline is the same
allele's `execute` called directly in this process. Both run in the same session;
the figures are the overhead per call in microseconds and the ratio, stored in
`extra_info` and printed. The same comparison is made for a 6-step pathway.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.alleles import register_allele
from sggit.genome.init import init_project
from sggit.genome.lineage import Lineage
from sggit.genome.repo import Genome
from sggit.kernel.mock import MockKernel
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import SandboxConfig, WorkerPool, confine

CONTRACT = """gene bench_step
  is transform
  risk none

  takes:
    value  int  "a number"

  gives:
    value  int  "the number, one step further"

pathway bench_six
  risk none

  takes:
    value  int  "start"

  steps:
    1. bench_step
         value = {value}
    2. bench_step
         value = {step 1.value}
    3. bench_step
         value = {step 2.value}
    4. bench_step
         value = {step 3.value}
    5. bench_step
         value = {step 4.value}
    6. bench_step
         value = {step 5.value}
"""

ALLELE = """import json

def execute(input_json):
    data = json.loads(input_json)
    return json.dumps({"value": data["value"] + 1})
"""


@pytest.fixture(scope="module")
def organism(tmp_path_factory: pytest.TempPathFactory):
    if os.geteuid() != 0 or confine.landlock_abi() == 0:
        pytest.skip("full confinement needs root and Landlock")
    root = tmp_path_factory.mktemp("bench") / "genome"
    init_project(root)
    (root / "contracts" / "genes" / "bench.sg").write_text(CONTRACT)
    genome = Genome.open(root)
    allele = register_allele(genome, "bench_step", ALLELE, Lineage(locus="bench_step", origin="manual")).id
    phenostore.register_in_phenotype(genome, "dell_r740", "bench_step", allele, "dominant")
    with WorkerPool(SandboxConfig(), size=1) as pool:
        org = Organism(genome, load_tree(root / "contracts"), "dell_r740", MockKernel(), pool, wait_verify=False)
        org.run("bench_step", {"value": 1})
        yield org


def _direct():
    namespace: dict = {}
    exec(compile(ALLELE, "<allele>", "exec"), namespace)
    return namespace["execute"]


def _per_call(fn, rounds: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            fn()
        best = min(best, (time.perf_counter() - start) / rounds)
    return best


def _report(benchmark, name: str, ours: float, baseline: float) -> None:
    benchmark.extra_info.update(
        {"organism_us": ours * 1e6, "direct_us": baseline * 1e6, "overhead_us": (ours - baseline) * 1e6, "ratio": ours / baseline}
    )
    print(f"\n{name}: organism {ours * 1e6:.0f} us, direct {baseline * 1e6:.1f} us, overhead {(ours - baseline) * 1e6:.0f} us, ratio {ours / baseline:.0f}x")


def test_overhead_per_gene_call(benchmark, organism: Organism) -> None:
    execute = _direct()
    baseline = _per_call(lambda: execute(json.dumps({"value": 1})), 2000)
    ours = _per_call(lambda: organism.run_locus("bench_step", {"value": 1}), 200)
    result = benchmark(organism.run_locus, "bench_step", {"value": 1})
    assert result.ok and result.output == {"value": 2}
    _report(benchmark, "gene call", ours, baseline)


def test_six_step_pathway(benchmark, organism: Organism) -> None:
    execute = _direct()

    def direct_pathway() -> int:
        value = 1
        for _ in range(6):
            value = json.loads(execute(json.dumps({"value": value})))["value"]
        return value

    baseline = _per_call(direct_pathway, 500)
    ours = _per_call(lambda: organism.run_pathway("bench_six", {"value": 1}), 30)
    result = benchmark(organism.run_pathway, "bench_six", {"value": 1})
    assert result.ok and result.outputs["6"] == {"value": 7}
    _report(benchmark, "6-step pathway", ours, baseline)
