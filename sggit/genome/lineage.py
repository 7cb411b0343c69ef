"""Why an allele exists: one JSON note per allele under refs/notes/sggit/lineage.

`git notes --ref sggit/lineage show <allele id>` prints it with stock git.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sggit.errors import SggitError
from sggit.genome.damage import reason, warn
from sggit.genome.notes import iter_notes, read_note, write_notes
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
    generation: int = 0
    host: str = Field(default_factory=host_name)
    time: float = Field(default_factory=time.time)
    path: str | None = None

    def to_note(self) -> bytes:
        return (json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True, indent=2) + "\n").encode()

    @classmethod
    def from_note(cls, data: bytes, allele: str = "?") -> Lineage:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise SggitError(f"lineage note of {allele[:12]} is not valid: {exc.errors()[0]['msg']}") from None


def write_lineage(genome: Genome, notes: dict[str, Lineage], message: str = "sggit: lineage") -> None:
    if notes:
        write_notes(genome, LINEAGE_REF, {k: v.to_note() for k, v in notes.items()}, message)


def parse_lineage(data: bytes, allele: str) -> Lineage | None:
    """A lineage note, or None (with a warning naming it) when it is damaged."""
    try:
        return Lineage.model_validate(json.loads(data))
    except (ValueError, TypeError, RecursionError) as exc:
        warn("lineage note", f"{LINEAGE_REF}:{allele}", reason(exc))
        return None


def read_lineage(genome: Genome, allele: str) -> Lineage | None:
    data = read_note(genome, LINEAGE_REF, allele)
    return None if data is None else parse_lineage(data, allele)


def all_lineage(genome: Genome) -> dict[str, Lineage]:
    out: dict[str, Lineage] = {}
    for hex_, data in iter_notes(genome, LINEAGE_REF):
        lineage = parse_lineage(data, hex_)
        if lineage is not None:
            out[hex_] = lineage
    return out
