"""Temporal fitness bookkeeping: who produced a state, what was deployed, which checks are due.

A diagnostic judges kernel state, not the allele that just ran: its result must
reach the allele that *produced* the state it looked at, which may have run
minutes (or invocations) earlier. Three small files in `.git/sggit/temporal/`
carry that across processes:

- `producers-<phenotype>.json`: the allele that last succeeded at a locus for a
  named object (a bridge, a device, a bond), so `feeds:` can find it.
- `deployed-<phenotype>.jsonl`: successful top-level runs with their inputs and the
  diagnostics that judge them, for `sggit watch`.
- `due.jsonl` / `done.jsonl`: verify checks recorded by `sggit run --no-wait`, and
  which of them `sggit verify --due` has run. Both are append-only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from sggit.errors import UsageError
from sggit.fsutil import atomic_write_text
from sggit.genome.damage import reason, salvage_object, warn
from sggit.genome.repo import Genome

# Inputs that name the kernel object a gene acts on (or a diagnostic looks at).
NAMING_FIELDS = ("bridge", "bridge_name", "bond", "bond_name", "device", "interface", "source_interface", "table")

Clock = Literal["virtual", "wall"]


def temporal_dir(genome: Genome) -> Path:
    path = genome.state_dir / "temporal"
    path.mkdir(parents=True, exist_ok=True)
    return path


def object_names(data: dict[str, Any]) -> list[str]:
    """The objects an invocation names, in field order; empty when it names none."""
    return [data[f] for f in NAMING_FIELDS if isinstance(data.get(f), str)]


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(text: str) -> float:
    """`30s`, `5m`, `1h`, `14d`, `500ms`, or bare seconds; a clear error for anything else."""
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(f"not a duration: {text!r}", hint="for example 30s, 5m, 1h, 14d, 500ms")
    amount, unit = float(match.group(1)), match.group(2) or "s"
    seconds = amount * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}[unit]
    if seconds <= 0:
        raise UsageError(f"duration must be positive: {text!r}")
    return seconds


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def append_line(path: Path, model: BaseModel, *, fsync: bool = True) -> None:
    """One `write` of one newline-fenced line under a lock: a record is whole or absent.

    Once `write` returns the line survives a SIGKILL; `fsync` makes it survive a power cut too.
    """
    line = ("\n" + model.model_dump_json() + "\n").encode()
    with _locked(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if os.write(fd, line) != len(line):
                raise OSError(f"short write to {path}")
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)


def read_lines(path: Path, model: type[BaseModel]) -> list[Any]:
    """Every whole record; a torn line (a crash mid-append) is skipped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        if raw.strip():
            try:
                out.append(model.model_validate(json.loads(raw)))
            except (ValueError, TypeError) as exc:
                warn("state line", f"{path}:{number}", reason(exc))
    return out


# -- last producer ----------------------------------------------------------------------
class Producer(BaseModel):
    allele: str
    input: dict[str, Any] = Field(default_factory=dict)
    time: float = Field(default_factory=time.time)


class ProducerIndex:
    """locus + object name -> the allele that last built that object in this phenotype."""

    def __init__(self, genome: Genome, phenotype: str) -> None:
        self.path = temporal_dir(genome) / f"producers-{phenotype}.json"

    def _read(self) -> dict[str, Producer]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return {}
        raw, whole = salvage_object(text)
        if not whole:
            warn("producer index", str(self.path), f"not whole JSON; recovered {len(raw)} entr(ies)")
        return {k: Producer.model_validate(v) for k, v in raw.items() if isinstance(v, dict)}

    def record(self, locus: str, data: dict[str, Any], allele: str) -> None:
        names = object_names(data)
        if not names:
            return
        with _locked(self.path):
            table = self._read()
            if all(f"{locus}|{name}" in table and table[f"{locus}|{name}"].allele == allele for name in names):
                return  # same producer as before: no rewrite on the hot path
            for name in names:
                table[f"{locus}|{name}"] = Producer(allele=allele, input=data)
            atomic_write_text(self.path, json.dumps({k: v.model_dump() for k, v in sorted(table.items())}, indent=1))

    def find(self, locus: str, names: list[str]) -> Producer | None:
        """The producer of the first of `names` built at `locus`, with the input it ran on."""
        table = self._read()
        for name in names:
            found = table.get(f"{locus}|{name}")
            if found is not None:
                return found
        return None

    def producer(self, locus: str, names: list[str]) -> str | None:
        found = self.find(locus, names)
        return found.allele if found is not None else None


# -- verify checks: due and deployed --------------------------------------------------------
class CheckCall(BaseModel):
    locus: str
    input: dict[str, Any]


class DueCheck(BaseModel):
    """Verify checks that were not waited for: run them once `due` has passed."""

    id: str = ""
    phenotype: str
    target: str
    origin: Literal["gene", "pathway"]
    allele: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    checks: list[CheckCall]
    due: float
    clock: Clock
    charge: list[str] | None = None  # a pathway's: the loci whose change the checks judge (None: every fed producer)
    created: float = Field(default_factory=time.time)

    def model_post_init(self, _context: Any) -> None:
        if not self.id:
            digest = hashlib.sha256(f"{self.phenotype}|{self.target}|{self.allele}|{self.created}|{os.getpid()}|{time.perf_counter_ns()}".encode())
            self.id = digest.hexdigest()[:16]


class DoneCheck(BaseModel):
    id: str
    healthy: bool
    results: list[dict[str, Any]] = Field(default_factory=list)
    time: float = Field(default_factory=time.time)


class Deployment(BaseModel):
    phenotype: str
    target: str
    kind: Literal["locus", "pathway"]
    input: dict[str, Any]
    checks: list[CheckCall]
    time: float = Field(default_factory=time.time)


def record_due(genome: Genome, entry: DueCheck) -> None:
    append_line(temporal_dir(genome) / "due.jsonl", entry)


def mark_done(genome: Genome, done: DoneCheck) -> None:
    append_line(temporal_dir(genome) / "done.jsonl", done)


def pending_due(genome: Genome, phenotype: str | None = None) -> list[DueCheck]:
    base = temporal_dir(genome)
    finished = {d.id for d in read_lines(base / "done.jsonl", DoneCheck)}
    return [e for e in read_lines(base / "due.jsonl", DueCheck) if e.id not in finished and (phenotype is None or e.phenotype == phenotype)]


def record_deployment(genome: Genome, deployment: Deployment) -> None:
    """Every successful top-level run with diagnostics writes one; a power cut may lose the latest (watch skips them)."""
    append_line(temporal_dir(genome) / f"deployed-{deployment.phenotype}.jsonl", deployment, fsync=False)


def _check_keys(d: Deployment) -> set[str]:
    return {json.dumps([c.locus, c.input], sort_keys=True) for c in d.checks}


def deployments(genome: Genome, phenotype: str, target: str) -> list[Deployment]:
    """The deployments of `target` the host should still look like, oldest first.

    A later deployment replaces every earlier one with the same input, and every
    earlier one that shares a check with it: two runs judged by the same
    diagnostic call (`check_fdb_stability bridge=mgmt`) configured the same
    thing, and the later one is what it is now. So an uplink moved from eno1 to
    eno2 is watched as eno2 only, and eno1, down on purpose, is not held against
    it; runs on two different bridges share no check and are both watched.
    """
    latest: dict[str, tuple[Deployment, set[str]]] = {}
    for d in read_lines(temporal_dir(genome) / f"deployed-{phenotype}.jsonl", Deployment):
        if d.target != target:
            continue
        key, checks = json.dumps(d.input, sort_keys=True), _check_keys(d)
        for earlier in [k for k, (_, theirs) in latest.items() if k == key or theirs & checks]:
            del latest[earlier]
        latest[key] = (d, checks)
    return [d for d, _ in latest.values()]
