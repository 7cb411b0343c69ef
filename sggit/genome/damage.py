"""Damaged records: skipped with a warning that names them, never fatal, listed by `sggit doctor`.

A fleet host can push a garbage note, a crash can tear a journal line, a disk can
truncate a state file. Readers skip the damaged record (and only it) and call
`warn`, which prints one line per record per process (per status inside it,
`anew`) to stderr; `scan` finds
every damaged record of a genome without changing anything, for the doctor.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sggit.errors import first_problem
from sggit.genome.repo import FITNESS_REF_PREFIX, LINEAGE_REF, Genome


class Damage(BaseModel):
    """One damaged record: what it is, where (a note `ref:object`, or `file:line`), and why it was refused."""

    kind: str
    where: str
    detail: str

    def render(self) -> str:
        return f"{self.where}: damaged {self.kind} skipped: {self.detail}"


_seen: set[str] = set()
_seen_guard = threading.Lock()


def warn(kind: str, where: str, detail: str) -> Damage:
    """Report a skipped record once per process on stderr (stdout stays clean for JSON)."""
    damage = Damage(kind=kind, where=where, detail=_one_line(detail))
    with _seen_guard:
        fresh = damage.where not in _seen
        _seen.add(damage.where)
    if fresh:
        print(f"sggit: warning: {damage.render()}", file=sys.stderr, flush=True)
    return damage


@contextmanager
def anew() -> Iterator[None]:
    """Inside, a record this process warned about already is warned about again (once).

    A status rendered after another command in the same process must warn as a
    status of its own would, or its answer would be kept without the warning.
    """
    with _seen_guard:
        before = set(_seen)
        _seen.clear()
    try:
        yield
    finally:
        with _seen_guard:
            _seen.update(before)


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 200 else line[:197] + "..."


def reason(exc: Exception) -> str:
    """A short why for a refused record (the first pydantic error, or the parser's message)."""
    return first_problem(exc)


def salvage_object(text: str) -> tuple[dict[str, Any], bool]:
    """The whole members of a JSON object that may be cut short, and of a cut-off member object; (members, was_whole).

    A state file truncated mid-write keeps every member written before the cut,
    so a reader can recover them instead of starting from nothing.
    """
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):
        pass
    else:
        return (whole, True) if isinstance(whole, dict) else ({}, False)
    start = text.find("{")
    return (_salvage_from(text, start + 1, nested=True) if start >= 0 else {}), False


def _salvage_from(text: str, i: int, *, nested: bool) -> dict[str, Any]:
    """Whole members from offset i; with `nested`, also the whole members of a cut-off object value (one level)."""
    decoder = json.JSONDecoder()
    out: dict[str, Any] = {}
    n = len(text)

    def skip(j: int, chars: str = " \t\r\n") -> int:
        while j < n and text[j] in chars:
            j += 1
        return j

    while True:
        i = skip(i, " \t\r\n,")
        if i >= n or text[i] == "}":
            return out
        try:
            key, i = decoder.raw_decode(text, i)
        except ValueError:
            return out
        i = skip(i)
        if not isinstance(key, str) or i >= n or text[i] != ":":
            return out
        i = skip(i + 1)
        try:
            value, i = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            if nested and i < n and text[i] == "{":
                partial = _salvage_from(text, i + 1, nested=False)
                if partial:
                    out[key] = partial
            return out
        out[key] = value


def _note_records(genome: Genome) -> Iterator[Damage]:
    from sggit.genome.lineage import read_lineage_note
    from sggit.genome.notes import iter_notes
    from sggit.genome.sync import read_counters_note

    refs = [LINEAGE_REF, *sorted(r for r in genome.repo.references if r.startswith(FITNESS_REF_PREFIX))]
    for ref in refs:
        kind = "lineage note" if ref == LINEAGE_REF else "fitness note"
        for allele, data in iter_notes(genome, ref):
            try:
                read_lineage_note(data, allele) if ref == LINEAGE_REF else read_counters_note(data)
            except (ValueError, TypeError, RecursionError) as exc:
                yield Damage(kind=kind, where=f"{ref}:{allele}", detail=_one_line(reason(exc)))


def _journal_lines(path: Path) -> Iterator[Damage]:
    from sggit.genome.fitness import Record

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:  # a directory where the journal should be stops run, status, sync and report
        yield Damage(kind="journal", where=str(path), detail=f"cannot be read: {exc.strerror or exc}")
        return
    lines = data.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            Record.model_validate(json.loads(line))
        except (ValueError, TypeError, RecursionError) as exc:
            torn = number == len(lines) and not data.endswith(b"\n")
            yield Damage(kind="journal line", where=f"{path}:{number}", detail="torn by a crash mid-write" if torn else _one_line(reason(exc)))


def _state_files(genome: Genome) -> Iterator[Damage]:
    state = genome.common_dir / "sggit"
    for path in sorted([*state.glob("fusion-*.json"), *(state / "temporal").glob("producers-*.json")]):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            yield Damage(kind="state file", where=str(path), detail=exc.strerror or str(exc))
            continue
        members, whole = salvage_object(text)
        if not whole:
            yield Damage(kind="state file", where=str(path), detail=f"not whole JSON; {len(members)} entr(ies) recoverable")
    for path in sorted(state.glob("mock-*.json")):  # a phenotype's simulated host, read whole by every run on it
        try:
            json.loads(path.read_bytes())
        except OSError as exc:
            yield Damage(kind="mock host", where=str(path), detail=f"cannot be read: {exc.strerror or exc}")
        except ValueError as exc:
            yield Damage(kind="mock host", where=str(path),
                         detail=f"not JSON ({_one_line(str(exc))}); `sggit kernel mock-reset --phenotype {path.stem.removeprefix('mock-')}` puts it back")
    for path in sorted([*(state / "temporal").glob("*.jsonl"), *state.glob("fusion-*.log")]):
        try:
            lines = path.read_bytes().split(b"\n")
        except OSError as exc:
            yield Damage(kind="state file", where=str(path), detail=f"cannot be read: {exc.strerror or exc}")
            continue
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except ValueError as exc:
                yield Damage(kind="state line", where=f"{path}:{number}", detail=_one_line(str(exc)))


def _phenotype_heads(genome: Genome) -> Iterator[Damage]:
    """A phenotype branch whose head map does not parse stops every command but `rollback`; and the genome branch the maps name."""
    from sggit.errors import SggitError
    from sggit.genome.phenostore import phenotype_names, read_phenotype
    from sggit.genome.repo import GENOME_REF

    names = phenotype_names(genome)
    for name in names:
        try:
            read_phenotype(genome, name)
        except SggitError as exc:
            yield Damage(kind="phenotype head", where=f"phenotype/{name}", detail=f"{exc.message}; `sggit rollback --phenotype {name}` undoes it")
    if names and genome.target(GENOME_REF) is None:
        yield Damage(kind="genome branch", where=GENOME_REF,
                     detail="is missing while phenotypes name alleles; `sggit pull REMOTE` brings it back from a fleet, `sggit init` registers the seeds again")


def _outboxes(genome: Genome) -> Iterator[Damage]:
    """Outboxes of other hosts, as the last fetch mirrored them, that no push could have left."""
    from sggit.genome.fleet import damaged_outboxes

    for where, why in damaged_outboxes(genome):
        yield Damage(kind="outbox", where=where, detail=why)


def scan(genome: Genome) -> list[Damage]:
    """Every damaged note, journal line, state file and mirrored outbox of this genome; reads only."""
    from sggit.genome.fitness import JOURNAL_NAME

    found = list(_note_records(genome))
    state = genome.common_dir / "sggit"
    if state.exists() and not state.is_dir():
        return [*found, Damage(kind="state directory", where=str(state), detail="is not a directory; sggit keeps its journal and state there")]
    found.extend(_phenotype_heads(genome))
    found.extend(_outboxes(genome))
    for path in sorted([state / JOURNAL_NAME, *state.glob(JOURNAL_NAME + ".*.segment")]):
        found.extend(_journal_lines(path))
    found.extend(_state_files(genome))
    return found
