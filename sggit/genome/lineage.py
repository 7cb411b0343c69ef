"""Why an allele exists: one JSON note per allele blob under refs/notes/sggit/lineage.

Lineage belongs to the pair (locus, allele): the same source registered at two
loci is one blob with two lineages. A blob at one locus has a plain Lineage
note (which names its locus); at several, `{"loci": {<locus>: Lineage}}`.
`git notes --ref sggit/lineage show <allele id>` prints either with stock git.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sggit.errors import SggitError
from sggit.genome.damage import reason, warn
from sggit.genome.notes import iter_notes, read_note, read_note_in, write_notes
from sggit.genome.repo import LINEAGE_REF, Genome, host_name

Origin = Literal["seed", "mutation", "crossover", "fusion", "import", "manual"]


class Failure(BaseModel):
    """The failure that prompted a mutation: what went in, what broke, what the sensors said."""

    model_config = ConfigDict(extra="allow")

    input: Any = None
    error: str = ""
    diagnostics: Any = None


class Lineage(BaseModel):
    model_config = ConfigDict(extra="allow")

    locus: str
    origin: Origin
    parents: list[str] = Field(default_factory=list)
    engine: str | None = None
    model: str | None = None
    failure: Failure | None = None
    generation: int = Field(0, ge=0, le=10**9)
    host: str = Field(default_factory=host_name)
    time: float = Field(default_factory=time.time, ge=0, lt=1e11, allow_inf_nan=False)
    path: str | None = None

    def to_note(self) -> bytes:
        return (json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True, indent=2) + "\n").encode()

    @classmethod
    def from_note(cls, data: bytes, allele: str = "?") -> Lineage:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise SggitError(f"lineage note of {allele[:12]} is not valid: {exc.errors()[0]['msg']}") from None


class LineageNote(BaseModel):
    """The lineage note of a blob registered at several loci."""

    loci: dict[str, Lineage]


def lineage_note(loci: dict[str, Lineage]) -> bytes:
    if len(loci) == 1:
        return next(iter(loci.values())).to_note()
    note = LineageNote(loci=dict(sorted(loci.items())))
    return (json.dumps(note.model_dump(mode="json", exclude_none=True), sort_keys=True, indent=2) + "\n").encode()


def read_lineage_note(data: bytes, allele: str | None = None) -> dict[str, Lineage]:
    """A lineage note's lineage per locus; raises ValueError on a damaged note (one naming the allele
    it annotates among its own parents, too: no blob descends from itself)."""
    raw = json.loads(data)
    if isinstance(raw, dict) and isinstance(raw.get("loci"), dict) and "origin" not in raw:
        found = {locus: Lineage.model_validate(body) for locus, body in raw["loci"].items()}
    else:
        lineage = Lineage.model_validate(raw)
        found = {lineage.locus: lineage}
    if allele is not None:
        for locus, lineage in found.items():
            if allele in lineage.parents:
                raise ValueError(f"at {locus}, {allele[:12]} is named among its own parents")
    return found


def add_lineage(genome: Genome, items: list[tuple[str, Lineage]], message: str | None = None) -> int:
    """Each (allele, lineage) whose blob has no lineage at that locus yet gets it; earlier ones are kept.

    Returns how many (locus, allele) lineages were added (the store is append-only).
    A damaged note is not overwritten.
    """
    tree = genome.tip_tree(LINEAGE_REF)
    known: dict[str, dict[str, Lineage] | None] = {}
    added: set[str] = set()
    count = 0
    for allele, lineage in items:
        if allele not in known:
            data = read_note_in(genome.repo, tree, allele)
            known[allele] = {} if data is None else parse_lineage(data, allele)
        loci = known[allele]
        if loci is not None and lineage.locus not in loci:
            loci[lineage.locus] = lineage
            added.add(allele)
            count += 1
    if added:
        notes = {a: lineage_note(known[a] or {}) for a in sorted(added)}
        write_notes(genome, LINEAGE_REF, notes, message or f"sggit: lineage of {count} allele(s)")
    return count


def merge_lineage_notes(ours: bytes, theirs: bytes) -> bytes | None:
    """Two hosts' notes on one blob: every locus either registered it at, ours where both did; None keeps ours."""
    try:
        mine, other = read_lineage_note(ours), read_lineage_note(theirs)
    except (ValueError, TypeError, RecursionError):
        return None
    if set(other) <= set(mine):
        return None
    return lineage_note({**other, **mine})


def parse_lineage(data: bytes, allele: str) -> dict[str, Lineage] | None:
    """A lineage note's lineage per locus, or None (with a warning naming it) when it is damaged."""
    try:
        return read_lineage_note(data, allele)
    except (ValueError, TypeError, RecursionError) as exc:
        warn("lineage note", f"{LINEAGE_REF}:{allele}", reason(exc))
        return None


def read_lineages(genome: Genome, allele: str) -> dict[str, Lineage]:
    """A blob's lineage at each locus it was registered at."""
    data = read_note(genome, LINEAGE_REF, allele)
    return {} if data is None else parse_lineage(data, allele) or {}


def read_lineage(genome: Genome, locus: str, allele: str) -> Lineage | None:
    """The lineage of the pair (locus, allele)."""
    return read_lineages(genome, allele).get(locus)


def all_lineage(genome: Genome) -> dict[str, dict[str, Lineage]]:
    """Every blob's lineage per locus: `all_lineage(g)[allele][locus]`."""
    out: dict[str, dict[str, Lineage]] = {}
    for hex_, data in iter_notes(genome, LINEAGE_REF):
        loci = parse_lineage(data, hex_)
        if loci:
            out[hex_] = loci
    return out
