from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from sggit.genome.fitness import Counters, Journal, Record, fitness, fold, read_records
from sggit.genome.phenotype import Weights
from sggit.genome.repo import Genome
from sggit.genome.sync import (
    SEGMENT_TRAILER,
    all_counters,
    counters_by_host,
    journal,
    journal_path,
    record,
    sync,
    total_counters,
)
from tests.genome.helpers import fake_id, git

A, B = fake_id(20), fake_id(21)
L = "bridge_create"


def test_fitness_is_successes_over_at_least_ten_trials() -> None:
    assert fitness(Counters(total=1, successes=1)) == pytest.approx(0.1)
    assert fitness(Counters(total=40, successes=30)) == pytest.approx(0.75)
    assert fitness(Counters()) == 0.0


def test_temporal_results_weigh_in_and_can_lower_fitness_after_the_fact() -> None:
    c = Counters(total=20, successes=20, convergence_total=20, convergence_ok=10)
    assert fitness(c) == pytest.approx((0.3 * 1.0 + 0.5 * 0.5) / 0.8)
    c.resilience_total, c.resilience_ok = 20, 20
    assert fitness(c) == pytest.approx(0.3 * 1.0 + 0.5 * 0.5 + 0.2 * 1.0)
    assert fitness(c, Weights(immediate=1, convergence=0, resilience=0)) == pytest.approx(1.0)


def test_fold_counts_per_allele_and_keeps_the_latest_failure() -> None:
    recs = [Record(allele=A, ok=True, time=1), Record(allele=A, ok=False, error="old", time=2), Record(allele=A, ok=False, error="new", time=3),
            Record(allele=A, ok=False, timescale="convergence", time=4, error="flap"), Record(allele=B, ok=True, timescale="resilience", time=5)]
    out = fold(recs, "h")[""]  # records that name no locus are counted under the unknown one
    assert (out[A].total, out[A].successes, out[A].convergence_total, out[A].convergence_ok) == (3, 1, 1, 0)
    assert out[A].last_failure.error == "flap" and out[B].resilience_ok == 1 and out[B].total == 0


def test_a_torn_record_costs_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with Journal(path) as j:
        j.append(Record(allele=A, ok=True))
        with open(path, "ab") as raw:
            raw.write(b'{"allele": "' + A.encode() + b'", "ok": tr')
        j.append(Record(allele=B, ok=False))
    assert [r.allele for r in read_records(path)] == [A, B]


def test_sync_folds_the_journal_into_this_hosts_notes_once(genome: Genome, repo_dir: Path) -> None:
    with journal(genome) as j:
        for i in range(12):
            j.append(Record(allele=A, locus="bridge_create", ok=i % 3 != 0, error="boom"))
    result = sync(genome)
    assert (result.records, result.alleles) == (12, 1)
    assert not journal_path(genome).exists()
    assert sync(genome).segments == 0
    note = json.loads(git(repo_dir, "notes", "--ref", "sggit/fitness/testhost", "show", A).stdout)
    assert (note["total"], note["successes"], note["last_failure"]["error"]) == (12, 8, "boom")
    record(genome, Record(allele=A, locus=L, ok=True))
    sync(genome)
    assert total_counters(genome, L, A).total == 13


def test_reads_add_up_every_hosts_ref(genome: Genome, monkeypatch: pytest.MonkeyPatch) -> None:
    record(genome, Record(allele=A, locus=L, ok=True))
    sync(genome)
    monkeypatch.setenv("SGGIT_HOST", "otherhost")
    record(genome, Record(allele=A, locus=L, ok=False))
    record(genome, Record(allele=B, locus=L, ok=True))
    sync(genome)
    assert sorted(counters_by_host(genome, L, A)) == ["otherhost", "testhost"]
    assert total_counters(genome, L, A).total == 2 and total_counters(genome, L, A).successes == 1
    assert {k: v.total for k, v in all_counters(genome)[L].items()} == {A: 2, B: 1}


def test_a_segment_already_folded_before_a_crash_is_not_counted_twice(genome: Genome, repo_dir: Path) -> None:
    record(genome, Record(allele=A, locus=L, ok=True))
    sync(genome)
    message = git(repo_dir, "log", "-1", "--format=%B", "refs/notes/sggit/fitness/testhost").stdout
    seg_id = next(line.split(":", 1)[1].strip() for line in message.splitlines() if line.startswith(SEGMENT_TRAILER))
    leftover = genome.state_dir / f"fitness.journal.{seg_id}.segment"
    leftover.write_bytes(b'\n{"allele": "' + A.encode() + b'", "ok": true}\n')
    sync(genome)
    assert not leftover.exists()
    assert total_counters(genome, L, A).total == 1


def _appender(path: str, allele: str, n: int) -> None:
    with Journal(Path(path)) as j:
        for _ in range(n):
            j.append(Record(allele=allele, locus=L, ok=True))


def test_records_appended_during_syncs_are_all_counted(genome: Genome) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_appender, args=(str(journal_path(genome)), allele, 400)) for allele in (A, B)]
    for p in procs:
        p.start()
    while any(p.is_alive() for p in procs):
        sync(genome)
    for p in procs:
        p.join()
    sync(genome)
    assert total_counters(genome, L, A).total == 400 and total_counters(genome, L, B).total == 400


def test_a_record_must_name_a_full_allele_id() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Record(allele="bridge_create", ok=True)
    with pytest.raises(ValidationError):
        Record(allele=A[:12], ok=True)


def test_a_journal_line_is_the_records_model_dump_json(tmp_path: Path) -> None:
    """The appender encodes with the model's serializer directly; the bytes are those `dump_model` gives."""
    from sggit.genome.fitness import record_line
    from sggit.genome.jsonio import dump_model

    records = [
        Record(allele=A, ok=True),
        Record(allele=B, locus=L, ok=False, timescale="convergence", error="step 2: \"quoted\"\n\ttabbed \x00\x1f\x7f", input={"z": 1, "a": [1.5, -0.0, 1e-07, 1e16, 2**70]}, time=1.0),
        Record(allele=A + "0" * 24, locus="unicodé", ok=True, timescale="resilience", input={"név": "日本語 ✓ 😀", "nested": {"deep": [None, True, False, {}]}},
               case={"bridge_name": "br0", "interfaces": []}, phenotype="dell_r740", time=1764658364.123456),
        Record(allele=A, locus=L, ok=True, input=[{"k": float("inf")}, float("nan")], phenotype="p", time=0.1 + 0.2),
        Record(allele=A, locus=L, ok=False, error="lone \ud83d surrogate", input={"s": "\udc00"}),
    ]
    path = tmp_path / "j"
    with Journal(path) as j:
        for r in records:
            j.append(r)
    assert path.read_bytes() == b"".join(b"\n" + dump_model(r).encode() + b"\n" for r in records)
    assert all(record_line(r) == r.model_dump_json(exclude_none=True).encode() for r in records[:-1])
    assert [r.model_dump() for r in read_records(path)][:3] == [r.model_dump() for r in records[:3]]
    assert next(r for r in read_records(path) if r.error and "lone" in r.error).error == "lone \ud83d surrogate"
