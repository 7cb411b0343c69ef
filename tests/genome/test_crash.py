"""Writers in parallel processes, SIGKILLed at random moments, round after round.

After every round the genome must be valid (git fsck clean, every map parses,
every registered allele has its lineage) and every acknowledged write must be
there: registered alleles, phenotype entries, and journal records, which are
counted exactly once (between acknowledged and attempted, per writer).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from sggit.genome import phenostore as ps
from sggit.genome.alleles import alleles_at, register_allele
from sggit.genome.fitness import Record
from sggit.genome.lineage import Lineage, all_lineage
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from sggit.genome.sync import journal, sync, total_counters
from tests.crash import kill_writers
from tests.genome.helpers import SEED_A, fsck_clean

ROUNDS = int(os.environ.get("SGGIT_CRASH_ROUNDS", "12"))
WRITERS = 3
LOCUS = "bridge_create"


def _writer_allele(wid: int) -> str:
    return f"{0xFEED0000 + wid:040x}"


def _writer(repo: str, wid: int, log_path: str, seed: int) -> None:
    genome = Genome.open(repo)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    rnd = random.Random(seed)
    j = journal(genome)
    n = 0
    while True:
        n += 1
        kind = rnd.choice(["register", "record", "record", "record", "sync", "phenotype"])
        key = f"w{wid}-{seed}-{n}"
        os.write(log, f"try {kind} {key}\n".encode())
        ident = "-"
        if kind in ("register", "phenotype"):
            source = f"def execute(input_json):\n    return {key!r}\n"
            ident = register_allele(genome, LOCUS, source, Lineage(locus=LOCUS, origin="manual")).id
            if kind == "phenotype":
                ps.register_in_phenotype(genome, "r740", LOCUS, ident, "recessive")
        elif kind == "record":
            j.append(Record(allele=_writer_allele(wid), locus=LOCUS, ok=rnd.random() < 0.7, error="x"))
        else:
            sync(genome)
        os.write(log, f"ack {kind} {key} {ident}\n".encode())


def _check_valid(genome: Genome, repo_dir: Path) -> None:
    fsck_clean(repo_dir)
    pmap = ps.read_phenotype(genome, "r740")
    registered = set(alleles_at(genome, LOCUS))
    assert set(pmap.loci[LOCUS].stack) <= registered
    lineage = all_lineage(genome)
    assert registered <= {a for a, by_locus in lineage.items() if LOCUS in by_locus}, "an allele in the tree lacks its lineage note"


@pytest.mark.slow
def test_sigkilled_writers_never_break_the_genome_or_lose_acknowledged_writes(genome: Genome, repo_dir: Path, tmp_path: Path) -> None:
    seed = register_allele(genome, LOCUS, SEED_A, Lineage(locus=LOCUS, origin="seed")).id
    ps.create_phenotype(genome, PhenotypeMap(name="r740", topology="production_server"))
    ps.register_in_phenotype(genome, "r740", LOCUS, seed, "dominant")
    logs = [tmp_path / f"writer{w}.log" for w in range(WRITERS)]
    rnd = random.Random(1234)
    for round_no in range(ROUNDS):
        kill_writers(_writer, [(str(repo_dir), w, str(logs[w]), round_no) for w in range(WRITERS)], rnd.uniform(0.05, 0.6))
        _check_valid(Genome.open(repo_dir), repo_dir)

    genome = Genome.open(repo_dir)
    sync(genome)
    _check_valid(genome, repo_dir)
    registered = set(alleles_at(genome, LOCUS))
    stack = set(ps.read_phenotype(genome, "r740").loci[LOCUS].stack)
    acked_total = 0
    for wid, log in enumerate(logs):
        lines = [line.split() for line in log.read_text().splitlines() if line.strip()]
        acks = [line for line in lines if line[0] == "ack" and len(line) == 4]
        acked_total += len(acks)
        for _, kind, _key, ident in acks:
            if kind in ("register", "phenotype"):
                assert ident in registered
            if kind == "phenotype":
                assert ident in stack
        tried = sum(1 for line in lines if line[0] == "try" and line[1] == "record")
        acked = sum(1 for line in acks if line[1] == "record")
        counted = total_counters(genome, LOCUS, _writer_allele(wid)).total
        assert acked <= counted <= tried, f"writer {wid}: {acked} acknowledged, {counted} counted, {tried} tried"
    print(f"crash loop: {ROUNDS} rounds, {acked_total} acknowledged writes")
    assert acked_total >= 10, "the writers did too little to prove anything"
