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
import time
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
    COUNTED,
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
from sggit.refsdir import loose_refs

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
            c = Counters.model_validate(_possible(body, f"loci.{locus}"))
            c.locus = c.locus or locus or None
            out[locus] = c
        return out
    c = Counters.model_validate(_possible(raw, ""))
    return {locus_key(c.locus): c}


_COUNTED_PAIRS = (("successes", "total"), ("convergence_ok", "convergence_total"), ("resilience_ok", "resilience_total"))
_MOST = 2**53  # more outcomes than any host journals; past it a float would not even count them exactly


def _possible(body: object, where: str) -> object:
    """`body`, unless no sequence of outcomes could have counted it: counts that are not whole numbers,
    negative, past any host's, more successes than calls, a phenotype's share above the whole, times
    that are no moment. A peer's damaged or forged note, refused as damaged, not summed into fitness."""
    if not isinstance(body, dict):
        return body  # the model says what is wrong
    at = f"{where}." if where else ""

    def counts(tally: dict, path: str) -> dict[str, int]:
        found = {}
        for name in (*COUNTED, "streak", "takeback"):
            value = tally.get(name)
            if value is None and name in ("takeback", "streak"):
                continue
            value = 0 if value is None else value
            if type(value) is not int or not 0 <= value <= _MOST:
                raise ValueError(f"{path}{name} is {json.dumps(value)[:40]}: a count is a whole number from 0 to 2**53")
            found[name] = value
        for ok, total in _COUNTED_PAIRS:
            if found[ok] > found[total]:
                raise ValueError(f"{path}{ok} {found[ok]} of {path}{total} {found[total]}: no run of outcomes counts that")
        moment = tally.get("last_time", 0.0)
        if type(moment) not in (int, float) or not 0 <= moment < 1e11:  # before the year 5138, and not NaN
            raise ValueError(f"{path}last_time is {json.dumps(moment)[:40]}: not a moment")
        return found

    whole = counts(body, at)
    phenotypes = body.get("phenotypes") or {}
    if isinstance(phenotypes, dict):
        shares = [counts(t, f"{at}phenotypes.{name}.") for name, t in phenotypes.items() if isinstance(t, dict)]
        for name in COUNTED:
            if sum(share[name] for share in shares) > whole[name]:
                raise ValueError(f"{at}phenotypes: their {name} add up to more than {at}{name} {whole[name]}")
    return body


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


_VIEW_FORMAT = "per-locus 2"
HOSTS_CACHE = "fitness-hosts.json"
_VIEWED = (FITNESS_REF_PREFIX, PHENOTYPE_REF_PREFIX)
_RACY_NS = 100_000_000
"""A packed-refs file this recent may be rewritten within the file system's timestamp granularity."""


def refs_identity(genome: Genome) -> tuple[str, bool] | None:
    """The fitness and phenotype tips, described the way git reads them: the packed-refs file's
    identity and the loose refs under those prefixes, which override it.

    Reading this costs the same with 1 host or 50 once `pull` has packed the
    hosts' refs. A ref update replaces a loose file, and a packed ref's deletion
    or repacking rewrites packed-refs, so any change of a tip changes the
    identity. The flag is False while packed-refs is recent enough that a
    rewrite could keep its timestamp; such an identity must not be kept. None:
    a layout not described here (reftable, a symbolic ref under the prefixes).
    """
    common = str(genome.common_dir)
    if os.path.exists(os.path.join(common, "reftable")):
        return None
    now = time.time_ns()
    try:
        st = os.stat(os.path.join(common, "packed-refs"))
        stamp = b"%d %d %d %d" % (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        settled = max(st.st_mtime_ns, st.st_ctime_ns) < now - _RACY_NS
    except FileNotFoundError:
        stamp, settled = b"-", True
    # The host too: the kept entries tell this host's part from the others'.
    parts = [_VIEW_FORMAT.encode(), b"host " + genome.host.encode("utf-8", "surrogateescape"), b"packed-refs " + stamp]
    for prefix in _VIEWED:
        for name, content in loose_refs(common, prefix):
            if content.startswith(b"ref:"):
                return None
            parts.append(name.encode("utf-8", "surrogateescape") + b" " + content)
    return hashlib.sha1(b"\n".join(parts)).hexdigest(), settled


class FitnessView:
    """Every host's fitness notes as of now, for views that ask about a few (locus, allele) pairs.

    Answers are kept in `.git/sggit/cache/fitness-view.json` under the identity
    of the fitness and phenotype refs (`refs_identity`), so a view repeated
    before any tip moves reads one packed-refs stat and the few loose refs, not
    every host's ref, and one entry per pair, not one per host: with 1 host or
    50 it costs the same. Any sync, pull or phenotype change starts the cache
    afresh. Hosts are listed and their tips read only when an answer is not
    kept. Damaged notes met while answering are warned about again whenever
    the answer is reused from the cache.
    """

    def __init__(self, genome: Genome) -> None:
        self.genome = genome
        self._tips: dict[str, Any] | None = None
        identity = refs_identity(genome)
        if identity is None:
            self.digest, self._keepable = self._tips_digest(), True
        else:
            self.digest, self._keepable = identity
        self._trees: dict[str, pygit2.Tree | None] = {}
        self._memo: dict[str, dict[str, dict[str, Counters]]] = {}
        self._cache: dict[str, Any] = {"digest": self.digest, "pairs": {}, "loci": {}, "kept": {}, "damaged": []}
        self._dirty = False
        self._hosts: dict[str, Any] | None = None
        self._hosts_dirty = False
        self._load()

    def _tips_digest(self) -> str:
        # Phenotype tips too: a locus answer read from notes without loci/ entries depends on the stack.
        targets = self._targets()
        lines = [_VIEW_FORMAT, f"host {self.genome.host}", *(f"{r} {t}" for r, t in sorted(targets.items()))]
        return hashlib.sha1("\n".join(lines).encode()).hexdigest()

    def _targets(self) -> dict[str, Any]:
        # One pass over the refs (a lookup per ref would read each loose ref file twice).
        targets: dict[str, Any] = {r.name: r.resolve().target for r in self.genome.repo.references.iterator() if r.name.startswith(_VIEWED)}
        self._tips = {r[len(FITNESS_REF_PREFIX):]: t for r, t in targets.items() if r.startswith(FITNESS_REF_PREFIX)}
        return targets

    @property
    def tips(self) -> dict[str, Any]:
        """Each host's fitness tip, listed on first need: after the identity was taken, so a tip that moved
        in between leaves what is kept under an identity no later view has."""
        if self._tips is None:
            self._targets()
        assert self._tips is not None
        return self._tips

    @property
    def trees(self) -> dict[str, pygit2.Tree | None]:
        for host, tip in self.tips.items():
            if host not in self._trees:
                self._trees[host] = None if tip is None else self.genome.repo[tip].peel(pygit2.Tree)
        return self._trees

    def _path(self, name: str = "fitness-view.json") -> Path:
        return self.genome.common_dir / "sggit" / "cache" / name

    def _read(self, name: str, sections: dict[str, type]) -> dict[str, Any] | None:
        """A cache file kept under this identity, or None (missing, torn, foreign or of other tips)."""
        try:
            data = json.loads(self._path(name).read_bytes())
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("digest") != self.digest:
            return None
        return data if all(isinstance(data.get(k), t) for k, t in sections.items()) else None

    def _load(self) -> None:
        data = self._read("fitness-view.json", {"pairs": dict, "loci": dict, "kept": dict, "damaged": list})
        if data is not None:
            self._cache.update(data)
            for d in data["damaged"]:
                warn(d["kind"], d["where"], d["detail"])

    def _kept_hosts(self) -> dict[str, Any]:
        """Per-host counters asked for by name, in a file of their own: it grows with the hosts, and
        status, which never needs them, does not read it."""
        if self._hosts is None:
            data = self._read(HOSTS_CACHE, {"by_host": dict, "damaged": list})
            self._hosts = data["by_host"] if data is not None else {}
            for d in data["damaged"] if data is not None else []:
                warn(d["kind"], d["where"], d["detail"])
        return self._hosts

    def save(self) -> None:
        """Keep what was computed for the next view; a cache that cannot be written costs only time."""
        if not self._keepable:
            return
        for name, dirty, data in (("fitness-view.json", self._dirty, self._cache), (HOSTS_CACHE, self._hosts_dirty, {"digest": self.digest, "by_host": self._hosts, "damaged": self._cache["damaged"]})):
            if not dirty:
                continue
            try:
                path = self._path(name)
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(path, json.dumps(data, ensure_ascii=True), durable=False)
            except (OSError, SggitError):
                pass
        self._dirty = self._hosts_dirty = False

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
        if found is None and keep and allele in self._kept_hosts():
            found = {h: {locus: Counters.model_validate(c) for locus, c in loci.items()} for h, loci in self._kept_hosts()[allele].items()}
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
                elif damage is not None and all(d["where"] != damage.where for d in self._cache["damaged"]):
                    self._cache["damaged"].append(damage.model_dump())
                    self._dirty = True
            self._memo[allele] = found
        if keep and allele not in self._kept_hosts():
            self._kept_hosts()[allele] = {h: {locus: json.loads(dump_model(c)) for locus, c in loci.items()} for h, loci in found.items()}
            self._hosts_dirty = True
        return found

    def by_host(self, locus: str, allele: str, *, keep: bool = False) -> dict[str, Counters]:
        """Each host's counters of the pair (locus, allele); `keep` caches them for the next view."""
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

    def _pair(self, locus: str, allele: str) -> dict[str, Any]:
        """The pair's fleet figures, kept as one entry whatever the number of hosts: `total` (the other
        hosts' counters in host order, then this host's), `others` (without this host's, when it has
        some) and `hosts` (how many hosts have counters of the pair)."""
        key = f"{locus}/{allele}"
        kept = self._cache["pairs"].get(key)
        if kept is not None:
            return kept  # type: ignore[no-any-return]
        own_host = self.genome.host
        others = Counters(locus=locus or None)
        hosts = 0
        own: Counters | None = None
        for host, c in self.by_host(locus, allele).items():
            hosts += 1
            if host == own_host:
                own = c
            else:
                others = others + c
        row: dict[str, Any] = {"hosts": hosts, "total": json.loads(dump_model(others if own is None else others + own))}
        if own is not None:
            row["others"] = json.loads(dump_model(others))
            row["own"] = json.loads(dump_model(own))
        self._cache["pairs"][key] = row
        self._dirty = True
        return row

    def total(self, locus: str, allele: str) -> Counters:
        """The pair's counters summed over every host."""
        return Counters.model_validate(self._pair(locus, allele)["total"])

    def fleet(self, locus: str, allele: str, live: Callable[[Counters | None], Counters] | None = None) -> tuple[Counters, int]:
        """The pair's total over every host and how many hosts have counters of it; with `live`, this
        host's counters are `live(synced ones or None)` (its records not synced yet added)."""
        row = self._pair(locus, allele)
        if live is None:
            return Counters.model_validate(row["total"]), row["hosts"]
        own = Counters.model_validate(row["own"]) if "own" in row else None
        others = Counters.model_validate(row["others"]) if "others" in row else Counters.model_validate(row["total"])
        return others + live(own), row["hosts"] + (own is None)


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
