"""Fitness: the one formula, per-host counters, and the hot-path journal.

An invocation appends one line to `.git/sggit/fitness.journal`; nothing is
committed on the hot path. `sggit sync` (sggit.genome.sync) folds the journal
into per-host counter notes. The formula lives only here: `fitness(counters)`.

Counters belong to the pair (locus, allele): one source registered at two loci
is one blob, but what it did at one locus says nothing about the other. Folds
and note readers therefore answer `{locus: {allele: Counters}}` (`ByLocus`).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticSerializationError

from sggit.errors import SggitError
from sggit.genome.jsonio import dump_model
from sggit.genome.phenotype import Weights

MIN_TRIALS = 10
DEFAULT_WEIGHTS = Weights()
JOURNAL_NAME = "fitness.journal"

Timescale = Literal["immediate", "convergence", "resilience"]


MAX_FAILURES = 8


class LastFailure(BaseModel):
    time: float
    error: str
    host: str | None = None
    input: Any = None
    timescale: Timescale = "immediate"

    def key(self) -> str:
        return json.dumps(self.input, sort_keys=True, default=str) + "\0" + self.timescale


MAX_SAMPLE = 16
MAX_KEPT_INPUT = 8192
"""Characters of JSON an input may take to be kept in a note, as a regression sample or a failure's case.

Notes travel to every host of a fleet and are read whole: a larger input is counted
in the tallies but not kept, so one run with a bulky input cannot swell them."""


def _kept(value: Any) -> Any:
    """`value` when it is small enough to keep in a note, else None (what a record without an input holds)."""
    return value if len(json.dumps(value, default=str)) <= MAX_KEPT_INPUT else None


class Sample(BaseModel):
    """An input an allele handled successfully: the regression sample its successors must agree on."""

    time: float
    input: Any = None

    def key(self) -> str:
        return json.dumps(self.input, sort_keys=True, default=str)


def _recent_samples(*lists: list[Sample]) -> list[Sample]:
    latest: dict[str, Sample] = {}
    for x in sorted((x for group in lists for x in group), key=lambda x: x.time):
        latest.pop(x.key(), None)
        latest[x.key()] = x
    return list(latest.values())[-MAX_SAMPLE:]


def _recent_failures(*lists: list[LastFailure]) -> list[LastFailure]:
    """Newest failure per distinct (input, timescale), at most MAX_FAILURES of them, oldest first."""
    latest: dict[str, LastFailure] = {}
    for f in sorted((f for group in lists for f in group), key=lambda f: f.time):
        latest.pop(f.key(), None)
        latest[f.key()] = f
    return list(latest.values())[-MAX_FAILURES:]


UNKNOWN_LOCUS = ""
"""The locus key of records and old notes that name none."""

MAX_PHENOTYPES = 32


class Tally(BaseModel):
    """Outcome counts per timescale: all `fitness()` needs, small enough to keep one per phenotype."""

    model_config = ConfigDict(extra="allow")

    total: int = 0
    successes: int = 0
    convergence_total: int = 0
    convergence_ok: int = 0
    resilience_total: int = 0
    resilience_ok: int = 0
    last_time: float = 0.0

    def count(self, rec: Record) -> None:
        if rec.timescale == "immediate":
            self.total += 1
            self.successes += int(rec.ok)
        elif rec.timescale == "convergence":
            self.convergence_total += 1
            self.convergence_ok += int(rec.ok)
        else:
            self.resilience_total += 1
            self.resilience_ok += int(rec.ok)
        self.last_time = max(self.last_time, rec.time)

    def plus(self, other: Tally) -> Tally:
        return Tally(**_summed(self, other))


def _summed(a: Tally, b: Tally) -> dict[str, Any]:
    return {
        "total": a.total + b.total,
        "successes": a.successes + b.successes,
        "convergence_total": a.convergence_total + b.convergence_total,
        "convergence_ok": a.convergence_ok + b.convergence_ok,
        "resilience_total": a.resilience_total + b.resilience_total,
        "resilience_ok": a.resilience_ok + b.resilience_ok,
        "last_time": max(a.last_time, b.last_time),
    }


COUNTED = ("total", "successes", "convergence_total", "convergence_ok", "resilience_total", "resilience_ok")


def under_phenotype(c: Counters, name: str) -> Tally:
    """What `c` counted under phenotype `name`, plus what it counted under no named phenotype.

    Records written before records named their phenotype (and tallies dropped past
    MAX_PHENOTYPES) are not attributed to any one, so they count for each.
    """
    untagged = {f: max(0, getattr(c, f) - sum(getattr(t, f) for t in c.phenotypes.values())) for f in COUNTED}
    return c.phenotypes.get(name, Tally()).plus(Tally(**untagged, last_time=c.last_time))


def _phenotypes(*maps: dict[str, Tally]) -> dict[str, Tally]:
    """Per-phenotype tallies added up; beyond MAX_PHENOTYPES the least recently used are dropped."""
    out: dict[str, Tally] = {}
    for m in maps:
        for name, t in m.items():
            out[name] = out[name].plus(t) if name in out else t.model_copy()
    if len(out) > MAX_PHENOTYPES:
        out = dict(sorted(out.items(), key=lambda kv: -kv[1].last_time)[:MAX_PHENOTYPES])
    return dict(sorted(out.items()))


class Counters(Tally):
    """What one host saw of one allele at one locus; counters add across hosts and across syncs."""

    locus: str | None = None
    last_failure: LastFailure | None = None
    failures: list[LastFailure] = Field(default_factory=list)
    """Recent distinct failing inputs, kept through sync so `heal` and the regression set still see them."""
    accepted: list[Sample] = Field(default_factory=list)
    """A bounded sample of distinct inputs handled successfully, kept in the notes so it travels with the genome."""
    streak: int = 0
    """Failures since the last good invocation, as this host saw them: survives sync, so demotion does not
    depend on when the journal was folded. Not additive across hosts (a sum keeps the larger)."""
    takeback: int | None = None
    """The streak an immediate success reset, until a convergence result judges that success (see next_streak)."""
    phenotypes: dict[str, Tally] = Field(default_factory=dict)
    """The same counts split by the phenotype the allele was expressed under (records that name one)."""

    def streak_state(self) -> StreakState:
        return self.streak, self.takeback

    def __add__(self, other: Counters) -> Counters:
        failures = [f for f in (self.last_failure, other.last_failure) if f is not None]
        return Counters(
            **_summed(self, other),
            locus=self.locus or other.locus,
            last_failure=max(failures, key=lambda f: f.time) if failures else None,
            failures=_recent_failures(self.failures, other.failures),
            accepted=_recent_samples(self.accepted, other.accepted),
            streak=max(self.streak, other.streak),
            phenotypes=_phenotypes(self.phenotypes, other.phenotypes),
        )


ByLocus = dict[str, dict[str, Counters]]
"""Counters of (locus, allele) pairs: `counters[locus][allele]`."""


def add_into(into: ByLocus, more: ByLocus) -> ByLocus:
    """`into` with `more` added pair by pair (in place, and returned)."""
    for locus, alleles in more.items():
        mine = into.setdefault(locus, {})
        for allele, c in alleles.items():
            mine[allele] = mine[allele] + c if allele in mine else c
    return into


def locus_key(locus: str | None) -> str:
    return locus or UNKNOWN_LOCUS


StreakState = tuple[int, int | None]


def next_streak(state: StreakState, rec: Record) -> StreakState:
    """(streak, streak before the last immediate success if no convergence result judged it yet).

    A convergence failure arrives after its invocation's immediate success (the
    same run's verify, a due check, a diagnostic fed later): it takes that
    success back instead of counting after the reset the success caused, so an
    allele that always "works" and never converges still reaches the threshold.
    """
    streak, before_success = state
    if rec.timescale == "resilience":
        return state
    if rec.timescale == "immediate" and rec.ok:
        return 0, streak
    if rec.ok:
        return 0, None
    if before_success is not None and rec.timescale == "convergence":
        return before_success + 1, None
    return streak + 1, None


def advance(counters: Counters, records: Iterable[Record]) -> Counters:
    """`counters` with `records` (of its allele, in order) folded into its streak."""
    state = counters.streak_state()
    for rec in records:
        state = next_streak(state, rec)
    counters.streak, counters.takeback = state
    return counters


def fitness(c: Tally, weights: Weights | None = None) -> float:
    """successes / max(total, 10) per timescale, weighted 0.3/0.5/0.2 (tunable per locus).

    A timescale nobody has observed yet drops out and the others are renormalised,
    so an allele of a locus without diagnostics scores exactly the paradigm's base
    ratio, and a convergence failure lowers fitness after the fact.
    """
    w = weights or DEFAULT_WEIGHTS
    parts = [
        (w.immediate, c.successes, c.total),
        (w.convergence, c.convergence_ok, c.convergence_total),
        (w.resilience, c.resilience_ok, c.resilience_total),
    ]
    observed = [(weight, ok, n) for weight, ok, n in parts if n > 0 and weight > 0]
    if not observed:
        return 0.0
    total_weight = sum(weight for weight, _, _ in observed)
    return sum(weight * ok / max(n, MIN_TRIALS) for weight, ok, n in observed) / total_weight


class Record(BaseModel):
    """One journal line: an outcome of one allele at one timescale."""

    allele: str = Field(pattern=r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
    locus: str | None = None
    ok: bool
    timescale: Timescale = "immediate"
    error: str | None = None
    input: Any = None
    case: Any = None
    """For an outcome fed by a diagnostic (whose input `input` is), the producer's own input: the case a
    repair of the producer is judged on."""
    phenotype: str | None = None
    """The phenotype the allele was expressed under, for fitness per phenotype."""
    time: float = Field(default_factory=time.time)


def fold(records: Iterable[Record], host: str | None = None) -> ByLocus:
    """Records as counters per (locus, allele): `fold(...)[locus][allele]`."""
    out: ByLocus = {}
    for r in records:
        at = out.setdefault(locus_key(r.locus), {})
        c = at.get(r.allele)
        if c is None:
            c = at[r.allele] = Counters(locus=r.locus)
        c.count(r)
        if r.phenotype:
            tally = c.phenotypes.get(r.phenotype)
            if tally is None:
                tally = c.phenotypes[r.phenotype] = Tally()
            tally.count(r)
        if r.ok and r.timescale == "immediate" and isinstance(r.input, dict) and _kept(r.input) is not None:
            c.accepted = _recent_samples(c.accepted, [Sample(time=r.time, input=r.input)])
        if not r.ok and r.timescale != "resilience":
            failure = LastFailure(time=r.time, error=r.error or "failed", host=host,
                                  input=_kept(r.case if r.case is not None else r.input), timescale=r.timescale)
            c.failures = _recent_failures(c.failures, [failure])
            if c.last_failure is None or r.time >= c.last_failure.time:
                c.last_failure = failure
        c.streak, c.takeback = next_streak(c.streak_state(), r)
    return out


class Journal:
    """Append-only record file; one `write` per record, so a record is all there or not at all.

    Appenders hold a shared flock while writing and check that the file they hold
    is still the journal; sync renames the journal away and takes the exclusive
    lock before reading it, so no record lands in a file that was already read.
    The check is one `stat` of the name, relative to the journal's directory,
    against the inode the open file was found to have when it was opened (a
    file's inode does not change while it is open).
    """

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self.fsync = fsync
        self._fd: int | None = None
        self._dir: int | None = None
        self._inode: tuple[int, int] = (0, 0)

    def _open(self) -> int:
        if self._fd is None:
            try:
                self._dir = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                self._fd = os.open(self.path.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644, dir_fd=self._dir)
            except IsADirectoryError:
                self.close()
                raise SggitError(f"the fitness journal {self.path} is a directory", hint="move it away; sggit recreates the journal") from None
            except OSError as exc:
                self.close()
                raise SggitError(f"cannot write the fitness journal {self.path}: {exc.strerror or exc}", hint=_hint(exc)) from None
            st = os.fstat(self._fd)
            self._inode = (st.st_dev, st.st_ino)
        return self._fd

    def close(self) -> None:
        for fd in (self._fd, self._dir):
            if fd is not None:
                os.close(fd)
        self._fd = self._dir = None

    def __del__(self) -> None:
        # A journal dropped unclosed (an organism nobody closed) must not keep its files open for good.
        try:
            self.close()
        except OSError:
            pass

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, record: Record) -> None:
        """Returns once the record is in the file (and on disk, with fsync=True)."""
        # The leading newline fences off a record torn by a crash mid-write.
        self.append_raw(b"\n" + record_line(record) + b"\n")

    def append_raw(self, line: bytes) -> None:
        while True:
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                try:
                    st = os.stat(self.path.name, dir_fd=self._dir)
                    same = (st.st_dev, st.st_ino) == self._inode
                except FileNotFoundError:
                    same = False
                if not same:
                    self.close()
                    continue
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(f"short write to {self.path}")
                if self.fsync:
                    os.fsync(fd)
                return
            finally:
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)


_RECORD_JSON = Record.__pydantic_serializer__


def record_line(record: Record) -> bytes:
    """A record's journal line: `dump_model(record)` as UTF-8, from the model's own serializer without the
    Python layers of `model_dump_json` (every journalled call pays them)."""
    try:
        return _RECORD_JSON.to_json(record, exclude_none=True)
    except PydanticSerializationError:
        return dump_model(record).encode()


def _hint(exc: OSError) -> str | None:
    import errno

    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "the repository's .git is not writable here; sggit records fitness and commits there"
    return None


def read_records(path: Path) -> Iterator[Record]:
    """Records of a journal file; a torn or damaged line is skipped with a warning naming it, never fatal."""
    from sggit.genome.damage import reason, warn

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise SggitError(f"the fitness journal {path} is a directory", hint="move it away; sggit recreates the journal") from None
    except OSError as exc:
        raise SggitError(f"cannot read the fitness journal {path}: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield Record.model_validate(json.loads(line))
        except (ValueError, TypeError, RecursionError) as exc:
            if number == len(lines):
                continue  # the tail of a record being appended right now, or torn by a crash
            warn("journal line", f"{path}:{number}", reason(exc))
