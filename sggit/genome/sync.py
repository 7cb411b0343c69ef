"""Folding the local fitness journal into this host's counter notes, exactly once.

The journal is renamed to a segment named by a fresh id; the notes commit that
folds it carries `Sggit-Journal-Segment: <id>`; only then is the segment
deleted. A crash before the commit leaves the segment to fold next time; a crash
after it leaves a segment whose id is already in the ref's history, which is then
only deleted. No record is lost and none is counted twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2
from pydantic import BaseModel

from sggit.errors import SggitError
from sggit.fsutil import atomic_write_text
from sggit.genome.damage import Damage, reason, warn
from sggit.genome.fitness import (
    JOURNAL_NAME,
    ByLocus,
    Counters,
    Journal,
    LastFailure,
    Record,
    StreakState,
    add_into,
    advance,
    fold,
    locus_key,
    read_records,
)
from sggit.genome.jsonio import dump_model
from sggit.genome.notes import iter_notes, read_note_in, write_notes
from sggit.genome.repo import FITNESS_REF_PREFIX, PHENOTYPE_REF_PREFIX, Genome
from sggit.genome.trees import entry

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
    if live.is_dir():
        raise SggitError(f"the fitness journal {live} is a directory", hint="move it away; sggit recreates the journal")
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
        by_pair: dict[tuple[str, str], list[Record]] = {}
        for r in records:
            by_pair.setdefault((locus_key(r.locus), r.allele), []).append(r)
        pairs = sum(len(alleles) for alleles in delta.values())
        commit = None
        if delta:
            tree = genome.tip_tree(ref)
            notes: dict[str, bytes] = {}
            touched: dict[str, dict[str, Counters]] = {}
            for locus, alleles in delta.items():
                for allele in alleles:
                    touched.setdefault(allele, {})[locus] = alleles[allele]
            for allele, adds in touched.items():
                old = read_note_in(genome.repo, tree, allele)
                loci = (parse_counters(old, ref, allele) if old else None) or {}
                for locus, add in adds.items():
                    base = loci.get(locus) or Counters(locus=locus or None)
                    merged = base + add
                    merged.streak, merged.takeback = advance(base.model_copy(), by_pair[(locus, allele)]).streak_state()
                    loci[locus] = merged
                notes[allele] = counters_note(loci)
            files = _locus_failures(genome, tree, delta)
            ids = [s.name[len(JOURNAL_NAME) + 1 : -len(".segment")] for s in pending]
            message = f"sggit sync: {len(records)} record(s), {pairs} allele(s) on {host}\n\n" + "\n".join(
                f"{SEGMENT_TRAILER}: {i}" for i in ids
            ) + "\n"
            oid = write_notes(genome, ref, notes, message, files=files)
            commit = None if oid is None else str(oid)
        for seg in pending:
            seg.unlink(missing_ok=True)
        return SyncResult(len(records), pairs, len(pending), commit)


LOCI_DIR = "loci"


class LocusFailure(BaseModel):
    """The latest failure of any allele at one locus on one host: `loci/<locus>` in the host's fitness notes tree.

    Kept next to the notes so that a view of a locus reads one entry per host
    instead of every allele's note.
    """

    allele: str
    failure: LastFailure


def _locus_failures(genome: Genome, tree: pygit2.Tree | None, delta: ByLocus) -> dict[str, bytes]:
    latest: dict[str, LocusFailure] = {}
    for locus, alleles in delta.items():
        for allele, add in alleles.items():
            if locus and add.last_failure is not None:
                current = latest.get(locus) or read_locus_failure(genome, tree, locus)
                if current is None or add.last_failure.time >= current.failure.time:
                    latest[locus] = LocusFailure(allele=allele, failure=add.last_failure)
    return {f"{LOCI_DIR}/{locus}": (dump_model(entry, indent=2) + "\n").encode() for locus, entry in latest.items()}


def read_locus_failure(genome: Genome, tree: pygit2.Tree | None, locus: str) -> LocusFailure | None:
    obj = entry(tree, f"{LOCI_DIR}/{locus}")
    if not isinstance(obj, pygit2.Blob):
        return None
    try:
        return LocusFailure.model_validate(json.loads(obj.data))
    except (ValueError, TypeError, RecursionError) as exc:
        warn("locus failure summary", f"{LOCI_DIR}/{locus} in {tree.id if tree is not None else '?'}", reason(exc))
        return None


class CountersNote(BaseModel):
    """A host's fitness note on a blob used at several loci: counters per locus."""

    loci: dict[str, Counters]


def counters_note(loci: dict[str, Counters]) -> bytes:
    """One locus: its Counters object, naming the locus (the format every sggit reads); several: `{"loci": {...}}`."""
    if len(loci) == 1:
        [(locus, only)] = loci.items()
        model: BaseModel = only.model_copy(update={"locus": locus or None})
    else:
        model = CountersNote(loci=dict(sorted(loci.items())))
    return (dump_model(model, indent=2) + "\n").encode()


def read_counters_note(data: bytes) -> dict[str, Counters]:
    """A fitness note's counters per locus; raises ValueError on a damaged note.

    A note written before counters were kept per locus is one Counters object;
    it reads as the counters of the locus it names.
    """
    # json.loads, not model_validate_json: it reads back the \udXXX escapes dump_model writes.
    raw = json.loads(data)
    if isinstance(raw, dict) and isinstance(raw.get("loci"), dict):
        out: dict[str, Counters] = {}
        for locus, body in raw["loci"].items():
            c = Counters.model_validate(body)
            c.locus = c.locus or locus or None
            out[locus] = c
        return out
    c = Counters.model_validate(raw)
    return {locus_key(c.locus): c}


def parse_counters(data: bytes, ref: str, allele: str) -> dict[str, Counters] | None:
    """A fitness note's counters per locus, or None (with a warning naming it) when the note is damaged."""
    return _parse_counters(data, ref, allele)[0]


def _parse_counters(data: bytes, ref: str, allele: str) -> tuple[dict[str, Counters] | None, Damage | None]:
    try:
        return read_counters_note(data), None
    except (ValueError, TypeError, RecursionError) as exc:
        return None, warn("fitness note", f"{ref}:{allele}", reason(exc))


def fitness_hosts(genome: Genome) -> list[str]:
    return sorted(r[len(FITNESS_REF_PREFIX):] for r in genome.repo.references if r.startswith(FITNESS_REF_PREFIX))


_VIEW_FORMAT = "per-locus 1"


class FitnessView:
    """Every host's fitness notes as of now, for views that ask about a few (locus, allele) pairs.

    Hosts are listed and their tips read once. Answers are kept in
    `.git/sggit/cache/fitness-view.json` under a digest of every host's tip, so
    a view repeated before any host's notes move costs the same with 1 host or
    50; any sync or pull changes a tip and starts the cache afresh. Damaged
    notes met while answering are warned about again whenever the answer is
    reused from the cache.
    """

    def __init__(self, genome: Genome) -> None:
        self.genome = genome
        # One pass over the refs (a lookup per ref would read each loose ref file twice).
        targets = {r.name: r.resolve().target for r in genome.repo.references.iterator() if r.name.startswith((FITNESS_REF_PREFIX, PHENOTYPE_REF_PREFIX))}
        self.tips = {r[len(FITNESS_REF_PREFIX):]: t for r, t in targets.items() if r.startswith(FITNESS_REF_PREFIX)}
        # Phenotype tips too: a locus answer read from notes without loci/ entries depends on the stack.
        lines = [_VIEW_FORMAT, *(f"{r} {t}" for r, t in sorted(targets.items()))]
        self.digest = hashlib.sha1("\n".join(lines).encode()).hexdigest()
        self._trees: dict[str, pygit2.Tree | None] = {}
        self._memo: dict[str, dict[str, dict[str, Counters]]] = {}
        self._cache: dict[str, Any] = {"digest": self.digest, "totals": {}, "loci": {}, "by_host": {}, "kept": {}, "damaged": []}
        self._dirty = False
        self._load()

    @property
    def trees(self) -> dict[str, pygit2.Tree | None]:
        for host, tip in self.tips.items():
            if host not in self._trees:
                self._trees[host] = None if tip is None else self.genome.repo[tip].peel(pygit2.Tree)
        return self._trees

    def _path(self) -> Path:
        return self.genome.common_dir / "sggit" / "cache" / "fitness-view.json"

    def _load(self) -> None:
        try:
            data = json.loads(self._path().read_bytes())
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("digest") == self.digest:
            self._cache.update(data)
            for d in data.get("damaged", []):
                warn(d["kind"], d["where"], d["detail"])

    def save(self) -> None:
        """Keep what was computed for the next view; a cache that cannot be written costs only time."""
        if not self._dirty:
            return
        try:
            path = self._path()
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(self._cache, ensure_ascii=True))
        except (OSError, SggitError):
            pass
        self._dirty = False

    def keep(self, key: str, compute: Callable[[], Any]) -> Any:
        """A JSON-able answer of a view over these tips (the same tips give the same answer)."""
        kept = self._cache["kept"]
        if key not in kept:
            kept[key] = compute()
            self._dirty = True
        return kept[key]

    def notes(self, allele: str, *, keep: bool = False) -> dict[str, dict[str, Counters]]:
        """Each host's counters of one blob, per locus: `{host: {locus: Counters}}`; `keep` also caches them."""
        found = self._memo.get(allele)
        if found is None and allele in self._cache["by_host"]:
            found = {h: {locus: Counters.model_validate(c) for locus, c in loci.items()} for h, loci in self._cache["by_host"][allele].items()}
            self._memo[allele] = found
        if found is None:
            found = {}
            for host, tree in self.trees.items():
                data = read_note_in(self.genome.repo, tree, allele)
                if not data:
                    continue
                counters, damage = _parse_counters(data, fitness_ref(host), allele)
                if counters is not None:
                    found[host] = counters
                elif damage is not None:
                    self._cache["damaged"].append(damage.model_dump())
            self._memo[allele] = found
        if keep and allele not in self._cache["by_host"]:
            self._cache["by_host"][allele] = {h: {locus: json.loads(dump_model(c)) for locus, c in loci.items()} for h, loci in found.items()}
            self._dirty = True
        return found

    def by_host(self, locus: str, allele: str, *, keep: bool = False) -> dict[str, Counters]:
        """Each host's counters of the pair (locus, allele)."""
        return {h: loci[locus] for h, loci in self.notes(allele, keep=keep).items() if locus in loci}

    def loci(self, allele: str) -> set[str]:
        """The loci any host has counters of this blob at."""
        return {locus for loci in self.notes(allele).values() for locus in loci}

    def locus_failure(self, locus: str, stack: Callable[[], list[str]]) -> LastFailure | None:
        """The fleet's latest failure at a locus: per host its `loci/<locus>` entry, or (notes synced
        before those entries existed) the latest failure among the stack's notes on that host."""
        if locus in self._cache["loci"]:
            kept = self._cache["loci"][locus]
            return None if kept is None else LastFailure.model_validate(kept)
        best: LastFailure | None = None
        members: list[str] | None = None
        for host, tree in self.trees.items():
            if tree is not None and LOCI_DIR in tree:
                found = read_locus_failure(self.genome, tree, locus)
                candidates = [found.failure] if found is not None else []
            else:
                members = stack() if members is None else members
                candidates = [c.last_failure for a in members if (c := self.by_host(locus, a).get(host)) and c.last_failure]
            for failure in candidates:
                if best is None or failure.time > best.time:
                    best = failure
        self._cache["loci"][locus] = None if best is None else best.model_dump(mode="json")
        self._dirty = True
        return best

    def total(self, locus: str, allele: str) -> Counters:
        key = f"{locus}/{allele}"
        kept = self._cache["totals"].get(key)
        if kept is not None:
            return Counters.model_validate(kept)
        total = Counters(locus=locus or None)
        for c in self.by_host(locus, allele).values():
            total = total + c
        self._cache["totals"][key] = json.loads(dump_model(total))
        self._dirty = True
        return total


def counters_by_host(genome: Genome, locus: str, allele: str) -> dict[str, Counters]:
    """The pair's counters from every host's fitness ref (reads all hosts, writes only ours)."""
    return FitnessView(genome).by_host(locus, allele)


def host_streak(genome: Genome, locus: str, allele: str) -> StreakState:
    """This host's failure streak of (locus, allele) as of its last sync (pending records continue from it)."""
    ref = fitness_ref(genome.host)
    data = read_note_in(genome.repo, genome.tip_tree(ref), allele)
    loci = parse_counters(data, ref, allele) if data else None
    counters = loci.get(locus) if loci else None
    return counters.streak_state() if counters is not None else (0, None)


def total_counters(genome: Genome, locus: str, allele: str) -> Counters:
    return FitnessView(genome).total(locus, allele)


def host_counters(genome: Genome, host: str) -> ByLocus:
    """One host's synced counters of every (locus, allele) pair."""
    out: ByLocus = {}
    ref = fitness_ref(host)
    for allele, data in iter_notes(genome, ref):
        loci = parse_counters(data, ref, allele)
        for locus, c in (loci or {}).items():
            out.setdefault(locus, {})[allele] = c
    return out


def all_counters(genome: Genome) -> ByLocus:
    """Every pair's counters summed over hosts; cost follows the number of alleles with fitness."""
    out: ByLocus = {}
    for host in fitness_hosts(genome):
        add_into(out, host_counters(genome, host))
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


def live_counters(genome: Genome) -> ByLocus:
    """Every host's synced counters plus this host's records that are not synced yet, per (locus, allele).

    The arena decides on these, so a promotion never waits for `sggit sync`.
    """
    return add_into(all_counters(genome), fold(pending_records(genome), genome.host))
