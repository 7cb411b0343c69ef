"""Folding the local fitness journal into this host's counter notes, exactly once.

The journal is renamed to a segment named by a fresh id; the notes commit that
folds it carries `Sggit-Journal-Segment: <id>`; only then is the segment
deleted. A crash before the commit leaves the segment to fold next time; a crash
after it leaves a segment whose id is already in the ref's history, which is then
only deleted. No record is lost and none is counted twice.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pygit2

from sggit.genome.fitness import JOURNAL_NAME, Counters, Journal, Record, StreakState, advance, fold, read_records
from sggit.genome.notes import iter_notes, read_note_in, write_notes
from sggit.genome.repo import FITNESS_REF_PREFIX, Genome

SEGMENT_TRAILER = "Sggit-Journal-Segment"
_HISTORY_CHECKED = 64


def journal_path(genome: Genome) -> Path:
    return genome.state_dir / JOURNAL_NAME


def journal(genome: Genome, *, fsync: bool = False) -> Journal:
    """The hot-path writer: `journal(g).append(Record(...))`; keep it open across calls for speed."""
    return Journal(journal_path(genome), fsync=fsync)


def record(genome: Genome, rec: Record) -> None:
    with journal(genome) as j:
        j.append(rec)


def fitness_ref(host: str) -> str:
    return FITNESS_REF_PREFIX + host


@dataclass(frozen=True)
class SyncResult:
    records: int
    alleles: int
    segments: int
    commit: str | None


def _segments(genome: Genome) -> list[Path]:
    return sorted(genome.state_dir.glob(JOURNAL_NAME + ".*.segment"))


def _folded_segments(genome: Genome, ref: str) -> set[str]:
    seen: set[str] = set()
    oid = genome.target(ref)
    for _ in range(_HISTORY_CHECKED):
        if oid is None:
            break
        commit = genome.repo[oid].peel(pygit2.Commit)
        for line in commit.message.splitlines():
            if line.startswith(SEGMENT_TRAILER + ":"):
                seen.add(line.split(":", 1)[1].strip())
        oid = commit.parent_ids[0] if commit.parent_ids else None
    return seen


def _detach_journal(genome: Genome) -> None:
    """Rename the live journal to a segment and wait for appenders still writing into it."""
    live = journal_path(genome)
    if not live.exists() or live.stat().st_size == 0:
        return
    segment = live.with_name(f"{JOURNAL_NAME}.{uuid.uuid4().hex}.segment")
    os.rename(live, segment)
    fd = os.open(segment, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def sync(genome: Genome) -> SyncResult:
    """Fold every pending journal record into refs/notes/sggit/fitness/<host>."""
    host = genome.host
    ref = fitness_ref(host)
    with genome.locked():
        _detach_journal(genome)
        done = _folded_segments(genome, ref)
        pending: list[Path] = []
        for seg in _segments(genome):
            seg_id = seg.name[len(JOURNAL_NAME) + 1 : -len(".segment")]
            if seg_id in done:
                seg.unlink(missing_ok=True)
            else:
                pending.append(seg)
        if not pending:
            return SyncResult(0, 0, 0, None)
        records: list[Record] = [r for seg in pending for r in read_records(seg)]
        delta = fold(records, host)
        by_allele: dict[str, list[Record]] = {}
        for r in records:
            by_allele.setdefault(r.allele, []).append(r)
        commit = None
        if delta:
            tree = genome.tip_tree(ref)
            notes: dict[str, bytes] = {}
            for allele, add in delta.items():
                old = read_note_in(genome.repo, tree, allele)
                base = Counters.model_validate_json(old) if old else Counters()
                merged = base + add
                merged.streak, merged.takeback = advance(base.model_copy(), by_allele[allele]).streak_state()
                notes[allele] = (merged.model_dump_json(exclude_none=True, indent=2) + "\n").encode()
            ids = [s.name[len(JOURNAL_NAME) + 1 : -len(".segment")] for s in pending]
            message = f"sggit sync: {len(records)} record(s), {len(delta)} allele(s) on {host}\n\n" + "\n".join(
                f"{SEGMENT_TRAILER}: {i}" for i in ids
            ) + "\n"
            oid = write_notes(genome, ref, notes, message)
            commit = None if oid is None else str(oid)
        for seg in pending:
            seg.unlink(missing_ok=True)
        return SyncResult(len(records), len(delta), len(pending), commit)


def fitness_hosts(genome: Genome) -> list[str]:
    return sorted(r[len(FITNESS_REF_PREFIX):] for r in genome.repo.references if r.startswith(FITNESS_REF_PREFIX))


def counters_by_host(genome: Genome, allele: str) -> dict[str, Counters]:
    """One allele's counters from every host's fitness ref (reads all hosts, writes only ours)."""
    out: dict[str, Counters] = {}
    for host in fitness_hosts(genome):
        data = read_note_in(genome.repo, genome.tip_tree(fitness_ref(host)), allele)
        if data:
            out[host] = Counters.model_validate_json(data)
    return out


def host_streak(genome: Genome, allele: str) -> StreakState:
    """This host's failure streak of an allele as of its last sync (pending records continue from it)."""
    data = read_note_in(genome.repo, genome.tip_tree(fitness_ref(genome.host)), allele)
    return Counters.model_validate_json(data).streak_state() if data else (0, None)


def total_counters(genome: Genome, allele: str) -> Counters:
    total = Counters()
    for c in counters_by_host(genome, allele).values():
        total = total + c
    return total


def all_counters(genome: Genome) -> dict[str, Counters]:
    """Every allele's counters summed over hosts; cost follows the number of alleles with fitness."""
    out: dict[str, Counters] = {}
    for host in fitness_hosts(genome):
        for allele, data in iter_notes(genome, fitness_ref(host)):
            c = Counters.model_validate_json(data)
            out[allele] = out[allele] + c if allele in out else c
    return out


def pending_records(genome: Genome) -> list[Record]:
    """This host's records not yet folded into notes: detached segments, then the live journal."""
    done = _folded_segments(genome, fitness_ref(genome.host))
    out: list[Record] = []
    for seg in _segments(genome):
        if seg.name[len(JOURNAL_NAME) + 1 : -len(".segment")] not in done:
            out.extend(read_records(seg))
    out.extend(read_records(journal_path(genome)))
    return out


def live_counters(genome: Genome) -> dict[str, Counters]:
    """Every host's synced counters plus this host's records that are not synced yet.

    The arena decides on these, so a promotion never waits for `sggit sync`.
    """
    totals = all_counters(genome)
    for allele, c in fold(pending_records(genome), genome.host).items():
        totals[allele] = totals[allele] + c if allele in totals else c
    return totals
