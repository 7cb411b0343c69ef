"""Reinforcement streaks as an append-only log: one `write(2)` per pathway run, no fsync, no rename.

Rewriting a state file on every run (two fsyncs and a rename) cost 80-90 % of an
unfused pathway. Each run instead appends one newline-fenced JSON line to
`.git/sggit/fusion-<phenotype>.log` while holding an exclusive flock on a sidecar
lock file; before appending, the writer folds whatever other processes appended
since it last looked, so every process counts one shared streak.

Crash guarantees. A line is in the page cache once `write` returns, and that is
before `observe` returns, so a SIGKILL at any moment loses no acknowledged run
(the kernel finishes a `write` it has started; a line torn by a power cut is
fenced off by the next line's leading newline and skipped). Without fsync, a
power cut may lose the latest lines; a lost line only changes how soon a
pathway fuses, and the fused gene is judged on every run anyway. Once the log
passes `compact_at` bytes it is replaced, atomically and with fsync, by one
`set` line per pathway. The `fusion-<phenotype>.json` of earlier versions, when
found and no log exists yet, is adopted the same way.

Lines: `{"p": name, "ok": bool, "a": {locus: allele} | null}` extends or breaks
a streak; `{"p": name, "set": {"count": n, "alleles": {...}}}` sets it (a reset,
or a compacted log).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from sggit.fsutil import atomic_write_text
from sggit.genome.repo import Genome

COMPACT_AT = 1 << 20


class Streak(BaseModel):
    count: int = 0
    alleles: dict[str, str] = Field(default_factory=dict)


class StreakBook(BaseModel):
    pathways: dict[str, Streak] = Field(default_factory=dict)


def extended(streak: Streak | None, ok: bool, used: dict[str, str] | None) -> Streak:
    """The streak after one more run: a failure or a different allele at any locus breaks it."""
    if not ok or used is None:
        return Streak()
    if streak is None or any(streak.alleles.get(locus, allele) != allele for locus, allele in used.items()):
        return Streak(count=1, alleles=dict(used))
    return Streak(count=streak.count + 1, alleles={**streak.alleles, **used})


def _apply(book: dict[str, Streak], raw: bytes) -> None:
    """Fold one log line into `book`; a torn or foreign line is skipped (it can only delay fusion)."""
    try:
        entry = json.loads(raw)
        name = entry["p"]
        if not isinstance(name, str):
            return
        if "set" in entry:
            book[name] = Streak.model_validate(entry["set"])
        else:
            used = entry.get("a")
            book[name] = extended(book.get(name), entry.get("ok") is True, used if isinstance(used, dict) else None)
    except (ValueError, TypeError, KeyError):
        return


class Reinforcement:
    """Consecutive same-allele successes per pathway, shared by every process on this genome and phenotype."""

    def __init__(self, genome: Genome, phenotype: str, *, compact_at: int = COMPACT_AT) -> None:
        self.path: Path = genome.state_dir / f"fusion-{phenotype}.log"
        self.compact_at = compact_at
        self._thread_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._pid = os.getpid()
        self._fd: int | None = None
        self._ino = -1
        self._offset = 0
        self._book: dict[str, Streak] = {}

    # -- the log -------------------------------------------------------------------------
    def _hold(self) -> int:
        if self._pid != os.getpid():
            # a forked child shares the parent's open lock file, and so its lock: take its own
            self._forget()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            self._lock_fd, self._pid = None, os.getpid()
        if self._lock_fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        return self._lock_fd

    def _catch_up(self) -> None:
        """Fold what was appended since we last looked; start over when the log was compacted."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._forget()
            if self._adopt_legacy():
                self._catch_up()
            return
        if st.st_ino != self._ino or st.st_size < self._offset:
            self._forget()
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
            self._ino = os.fstat(self._fd).st_ino
        if st.st_size > self._offset:
            assert self._fd is not None
            data = os.pread(self._fd, st.st_size - self._offset, self._offset)
            for raw in data.split(b"\n"):
                if raw.strip():
                    _apply(self._book, raw)
            self._offset += len(data)

    def _adopt_legacy(self) -> bool:
        """Streaks from the state file earlier versions rewrote on every run become the log's first lines."""
        legacy = self.path.with_suffix(".json")
        try:
            book = StreakBook.model_validate_json(legacy.read_bytes())
        except FileNotFoundError:
            return False
        except ValueError:
            legacy.unlink(missing_ok=True)  # a damaged counter only delays fusion
            return False
        self._book = dict(book.pathways)
        self._write_snapshot()
        legacy.unlink(missing_ok=True)
        return True

    def _forget(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._ino, self._offset, self._book = None, -1, 0, {}

    def _append(self, entry: dict[str, Any]) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._ino = os.fstat(self._fd).st_ino
        line = ("\n" + json.dumps(entry, separators=(",", ":"), sort_keys=True) + "\n").encode()
        if os.write(self._fd, line) != len(line):
            raise OSError(f"short write to {self.path}")
        self._offset += len(line)
        if self._offset >= self.compact_at:
            self._compact()

    def _write_snapshot(self) -> None:
        lines = [json.dumps({"p": name, "set": s.model_dump()}, separators=(",", ":"), sort_keys=True) for name, s in sorted(self._book.items()) if s.count]
        atomic_write_text(self.path, "".join(f"\n{line}\n" for line in lines))

    def _compact(self) -> None:
        self._write_snapshot()
        self._forget()
        self._catch_up()

    def _update(self, pathway: str, entry: dict[str, Any], streak: Streak | None) -> Streak:
        with self._thread_lock:
            fd = self._hold()
            try:
                self._catch_up()
                new = streak if streak is not None else extended(self._book.get(pathway), entry["ok"], entry["a"])
                self._book[pathway] = new
                self._append(entry)
                return new
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    # -- what fusion asks ----------------------------------------------------------------
    def load(self) -> StreakBook:
        with self._thread_lock:
            fd = self._hold()
            try:
                self._catch_up()
                return StreakBook(pathways=dict(self._book))
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def observe(self, pathway: str, ok: bool, used: dict[str, str] | None) -> Streak:
        """Extend the streak with this run, or restart it; returns once the run is in the log."""
        return self._update(pathway, {"p": pathway, "ok": ok, "a": used if ok else None}, None)

    def reset(self, pathway: str) -> None:
        self._update(pathway, {"p": pathway, "set": Streak().model_dump()}, Streak())

    def close(self) -> None:
        with self._thread_lock:
            self._forget()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __del__(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
