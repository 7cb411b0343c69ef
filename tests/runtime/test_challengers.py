"""Promotion at a locus of 1,000 alleles rescores only what moved, and decides as a rescan of the whole stack would."""

from __future__ import annotations

import random
from pathlib import Path

from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.fitness import ByLocus, Record, add_into, fold
from sggit.genome.phenotype import LocusMap, Weights
from sggit.kernel.mock import MockKernel
from sggit.runtime.arena import Challengers, Thresholds, promotion_candidate
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import WorkerPool
from tests.step_gene import crowded_locus


def _rescan(org: Organism, locus: str) -> tuple[str, float, float] | None:
    """What the arena decided before it kept an index: every challenger of the stack scored."""
    pmap = org.phenotype()
    entry = pmap.locus(locus)
    challengers = [a for a in entry.stack if a != entry.dominant]
    return promotion_candidate(org.counters(locus), entry.dominant, challengers, Thresholds.for_locus(pmap, locus), entry.weights)


def test_a_challenger_deep_in_a_stack_of_1000_is_promoted_once_its_counters_earn_it(project: Path, pool: WorkerPool) -> None:
    genome, ids = crowded_locus(project, 1000)
    org = Organism(genome, load_tree(project / "contracts"), "dell_r740", MockKernel(), pool, wait_verify=False)
    challenger, unproven = ids[700], ids[300]

    def run_and_check() -> None:
        before = _rescan(org, "bench_step")
        assert org.run("bench_step", {"value": 1}).ok
        dominant = org.phenotype().locus("bench_step").dominant
        assert dominant == (before[0] if before is not None else ids[0])

    for _ in range(5):
        run_and_check()  # the dominant: 5 of 5, fitness 0.5 while under 10 trials
    for i in range(45):
        org.scoring.append(Record(allele=unproven, locus="bench_step", ok=True, input={"value": i}))
    for i in range(49):
        org.scoring.append(Record(allele=challenger, locus="bench_step", ok=True, input={"value": i}))
    run_and_check()
    assert org.phenotype().locus("bench_step").dominant == ids[0]  # 49 invocations: one short
    assert not any("promoted" in e for e in org.events)

    org.scoring.append(Record(allele=challenger, locus="bench_step", ok=True, input={"value": 49}))
    assert _rescan(org, "bench_step") is not None
    run_and_check()
    entry = org.phenotype().locus("bench_step")
    assert entry.dominant == challenger and len(entry.stack) == 1000
    assert [e for e in org.events if "promoted" in e] == [f"promoted bench_step {challenger[:7]} (fitness 1.00 over 0.70)"]
    assert phenostore.history(genome, "dell_r740", limit=1)[0].trailers["Sggit-Allele"] == challenger


def _entry(rng: random.Random, alleles: list[str]) -> LocusMap:
    stack = [a for a in alleles if rng.random() < 0.8]
    rng.shuffle(stack)
    dominant = stack[0] if stack and rng.random() < 0.8 else None
    states = {a: ("dominant" if a == dominant else "recessive") for a in stack}
    states.update({a: rng.choice(["canary", "shadow", "deprecated"]) for a in alleles if a not in states})
    weights = rng.choice([None, Weights(immediate=1, convergence=0, resilience=0), Weights(immediate=0.2, convergence=0.6, resilience=0.2)])
    return LocusMap.model_validate({"dominant": dominant, "stack": stack, "alleles": {a: {"state": s} for a, s in states.items()}, "weights": weights})


def test_the_kept_leader_decides_what_a_rescan_of_every_challenger_decides() -> None:
    """Random outcomes, ties included (few trials, few distinct scores): after every record the answers agree."""
    compared = promoted = 0
    for seed in range(60):
        rng = random.Random(seed)
        alleles = [f"{i:040x}" for i in range(rng.randint(1, 12))]
        entry = _entry(rng, alleles)
        thresholds = Thresholds(promote_min_invocations=rng.choice([1, 3, 5]), promote_margin=rng.choice([0.0, 0.1, 0.3]))
        counters: ByLocus = {}
        start = [Record(allele=rng.choice(alleles), locus="l", ok=rng.random() < 0.7) for _ in range(rng.randint(0, 20))]
        add_into(counters, fold(start))
        index = Challengers(entry, thresholds, counters.setdefault("l", {}))
        challengers = [a for a in entry.stack if a != entry.dominant]
        for _ in range(80):
            allele = rng.choice(alleles)
            timescale = rng.choice(["immediate", "immediate", "convergence", "resilience"])
            add_into(counters, fold([Record(allele=allele, locus="l", ok=rng.random() < 0.6, timescale=timescale)]))
            index.moved(counters["l"], [allele])
            expected = promotion_candidate(counters["l"], entry.dominant, challengers, thresholds, entry.weights)
            assert index.candidate(counters["l"]) == expected, (seed, allele)
            compared += 1
            promoted += expected is not None
    assert compared == 60 * 80 and promoted > 1000  # the comparison covers many promotions, not only refusals
