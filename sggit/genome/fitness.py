"""Fitness: the one formula, per-host counters, and the hot-path journal.

An invocation appends one line to `.git/sggit/fitness.journal`; nothing is
committed on the hot path. `sggit sync` (sggit.genome.sync) folds the journal
into per-host counter notes. The formula lives only here: `fitness(counters)`.
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

from sggit.errors import SggitError
from sggit.genome.jsonio import dump_model
from sggit.genome.phenotype import Weights

MIN_TRIALS = 10
DEFAULT_WEIGHTS = Weights()
JOURNAL_NAME = "fitness.journal"

Timescale = Literal["immediate", "convergence", "resilience"]


class LastFailure(BaseModel):
    time: float
    error: str
    host: str | None = None
    input: Any = None


class Counters(BaseModel):
    """What one host saw of one allele; counters add across hosts and across syncs."""

    model_config = ConfigDict(extra="allow")

    locus: str | None = None
    total: int = 0
    successes: int = 0
    convergence_total: int = 0
    convergence_ok: int = 0
    resilience_total: int = 0
    resilience_ok: int = 0
    last_time: float = 0.0
    last_failure: LastFailure | None = None

    def __add__(self, other: Counters) -> Counters:
        failures = [f for f in (self.last_failure, other.last_failure) if f is not None]
        return Counters(
            locus=self.locus or other.locus,
            total=self.total + other.total,
            successes=self.successes + other.successes,
            convergence_total=self.convergence_total + other.convergence_total,
            convergence_ok=self.convergence_ok + other.convergence_ok,
            resilience_total=self.resilience_total + other.resilience_total,
            resilience_ok=self.resilience_ok + other.resilience_ok,
            last_time=max(self.last_time, other.last_time),
            last_failure=max(failures, key=lambda f: f.time) if failures else None,
        )


def fitness(c: Counters, weights: Weights | None = None) -> float:
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
    time: float = Field(default_factory=time.time)


def fold(records: Iterable[Record], host: str | None = None) -> dict[str, Counters]:
    out: dict[str, Counters] = {}
    for r in records:
        c = out.setdefault(r.allele, Counters(locus=r.locus))
        if r.timescale == "immediate":
            c.total += 1
            c.successes += int(r.ok)
        elif r.timescale == "convergence":
            c.convergence_total += 1
            c.convergence_ok += int(r.ok)
        else:
            c.resilience_total += 1
            c.resilience_ok += int(r.ok)
        c.last_time = max(c.last_time, r.time)
        c.locus = c.locus or r.locus
        if not r.ok and (c.last_failure is None or r.time >= c.last_failure.time):
            c.last_failure = LastFailure(time=r.time, error=r.error or "failed", host=host, input=r.input)
    return out


class Journal:
    """Append-only record file; one `write` per record, so a record is all there or not at all.

    Appenders hold a shared flock while writing and check that the file they hold
    is still the journal; sync renames the journal away and takes the exclusive
    lock before reading it, so no record lands in a file that was already read.
    """

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self.fsync = fsync
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except IsADirectoryError:
                raise SggitError(f"the fitness journal {self.path} is a directory", hint="move it away; sggit recreates the journal") from None
            except OSError as exc:
                raise SggitError(f"cannot write the fitness journal {self.path}: {exc.strerror or exc}", hint=_hint(exc)) from None
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, record: Record) -> None:
        """Returns once the record is in the file (and on disk, with fsync=True)."""
        # The leading newline fences off a record torn by a crash mid-write.
        line = ("\n" + dump_model(record) + "\n").encode()
        self.append_raw(line)

    def append_raw(self, line: bytes) -> None:
        while True:
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
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
