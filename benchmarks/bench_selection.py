"""Deciding from the full record stays flat in history length.

Every decision (demotion streaks, promotion, the failures heal sees) reads this
host's synced counter notes plus the unsynced journal. The notes are counters
per allele, not records, so a gene call whose allele fails, and is therefore
considered for demotion, costs the same whether the locus has ten synced
outcomes behind it or ten thousand. Both genomes are measured in the same run;
the ratio is long history over short.

    .venv/bin/python -m pytest benchmarks/bench_selection.py --benchmark-only -s
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessPool

from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.alleles import register_allele
from sggit.genome.fitness import Record
from sggit.genome.init import init_project
from sggit.genome.lineage import Lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import journal, sync
from sggit.kernel.mock import MockKernel
from sggit.runtime.organism import Organism

FAILS = """import json

def execute(input_json):
    return json.dumps({"success": False, "resources_created": [], "error": "refused"})
"""
SHORT, LONG = 10, 10_000
FLAT = 1.3


def _genome(root: Path, history: int) -> tuple[Genome, str]:
    init_project(root)
    genome = Genome.open(root)
    allele = register_allele(genome, "bridge_create", FAILS, Lineage(locus="bridge_create", origin="manual")).id
    phenostore.register_in_phenotype(genome, "dell_r740", "bridge_create", allele, "recessive")
    phenostore.promote(genome, "dell_r740", "bridge_create", allele)
    with journal(genome) as j:
        for i in range(history):
            j.append(Record(allele=allele, locus="bridge_create", ok=i % 2 == 0, input={"bridge_name": f"b{i % 50}", "interfaces": []}))
    sync(genome)
    return genome, allele


def _per_call(genome: Genome, pool: Any, calls: int = 60) -> float:
    """Seconds per failing call on a fresh organism: the first call reads the record, the rest keep it."""
    assert genome.workdir is not None
    tree = load_tree(genome.workdir / "contracts")
    best = float("inf")
    for _ in range(3):
        org = Organism(genome, tree, "dell_r740", MockKernel(), pool, wait_verify=False)
        started = time.perf_counter()
        for i in range(calls):
            org.attempt(tree.genes["bridge_create"], org.stack("bridge_create")[0], {"bridge_name": f"x{i}", "interfaces": [], "stp_enabled": False})
        best = min(best, (time.perf_counter() - started) / calls)
    return best


@pytest.fixture(scope="module")
def genomes(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Genome]:
    base = tmp_path_factory.mktemp("selection")
    return {n: _genome(base / f"h{n}", n)[0] for n in (SHORT, LONG)}


def test_a_failing_call_costs_the_same_after_ten_thousand_synced_outcomes(benchmark: Any, genomes: dict[int, Genome]) -> None:
    pool = InProcessPool()
    short = _per_call(genomes[SHORT], pool)
    long = benchmark.pedantic(_per_call, args=(genomes[LONG], pool), rounds=1, iterations=1)
    ratio = long / short
    benchmark.extra_info.update({"short_us": short * 1e6, "long_us": long * 1e6, "ratio": ratio, "target": FLAT})
    print(f"\nfailing call with {SHORT} synced outcomes: {short * 1e6:.0f} us; with {LONG}: {long * 1e6:.0f} us; ratio {ratio:.2f} (target <= {FLAT})")
