"""The phenotype map: one deployment's bindings and, per locus, which allele is expressed.

The file is `phenotypes/<name>.toml`; shipped files hold only name, topology and
bindings, and `sggit init` fills in the loci. Every read and write goes through
`PhenotypeMap`, and `dump_phenotype` writes keys in one fixed order so that two
writers producing the same map produce the same bytes and diffs stay small.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sggit.errors import SggitError, UsageError, first_problem

Lifecycle = Literal["shadow", "canary", "recessive", "dominant", "deprecated"]
FusionState = Literal["unfused", "fused", "decomposed"]
Scalar = str | int | float | bool
Binding = Scalar | list[Scalar]
LIFECYCLE: tuple[str, ...] = ("shadow", "canary", "recessive", "dominant", "deprecated")

_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"{value!r} is not a full allele id (40 or 64 lowercase hex digits)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlleleState(_Strict):
    state: Lifecycle


STATES: dict[str, AlleleState] = {s: AlleleState(state=s) for s in LIFECYCLE}  # type: ignore[arg-type]
"""One shared entry per state: entries are replaced whole, never changed in place."""


class Weights(_Strict):
    """Per-locus weights of the three fitness timescales (see sggit.genome.fitness)."""

    immediate: float = Field(0.3, ge=0)
    convergence: float = Field(0.5, ge=0)
    resilience: float = Field(0.2, ge=0)


class LocusMap(_Strict):
    dominant: str | None = None
    stack: list[str] = Field(default_factory=list)
    alleles: dict[str, AlleleState] = Field(default_factory=dict)
    weights: Weights | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LocusMap:
        for allele in [*self.stack, *self.alleles, *([self.dominant] if self.dominant else [])]:
            _check_id(allele)
        if len(set(self.stack)) != len(self.stack):
            raise ValueError("stack lists an allele twice")
        if self.dominant is not None and (not self.stack or self.stack[0] != self.dominant):
            raise ValueError("the dominant allele must be first in the stack")
        for position, allele in enumerate(self.stack):
            state = self.alleles.get(allele)
            if state is None:
                raise ValueError(f"stack allele {allele[:12]} has no lifecycle entry")
            expected = "dominant" if position == 0 and self.dominant is not None else "recessive"
            if state.state != expected:
                raise ValueError(f"allele {allele[:12]} at stack position {position} must be {expected}, not {state.state}")
        members = set(self.stack)
        for allele, state in self.alleles.items():
            if state.state in ("dominant", "recessive") and allele not in members:
                raise ValueError(f"{state.state} allele {allele[:12]} is missing from the stack")
        return self


class PathwayMap(_Strict):
    state: FusionState = "unfused"
    fused_allele: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PathwayMap:
        if self.state == "fused" and not self.fused_allele:
            raise ValueError("a fused pathway needs fused_allele")
        if self.state != "fused" and self.fused_allele:
            raise ValueError(f"a {self.state} pathway has no fused_allele")
        if self.fused_allele:
            _check_id(self.fused_allele)
        return self


class PhenotypeMap(_Strict):
    name: str
    topology: str
    bindings: dict[str, Binding] = Field(default_factory=dict)
    settings: dict[str, Binding | dict[str, Binding]] = Field(default_factory=dict)
    loci: dict[str, LocusMap] = Field(default_factory=dict)
    pathways: dict[str, PathwayMap] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> PhenotypeMap:
        if not _NAME.match(self.name):
            raise ValueError(f"invalid phenotype name {self.name!r}")
        return self

    def locus(self, locus: str) -> LocusMap:
        return self.loci.get(locus) or LocusMap()


def parse_phenotype(text: str, origin: str = "<phenotype>") -> PhenotypeMap:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SggitError(f"{origin}: invalid TOML: {exc}") from None
    try:
        return PhenotypeMap.model_validate(data)
    except ValidationError as exc:
        raise SggitError(f"{origin}: {first_problem(exc)}") from None


def construct_locus(dominant: str | None, stack: list[str], others: dict[str, str], weights: dict | None) -> LocusMap:
    """A locus entry from data that was validated when it was written (a content-named cache).

    Skips validation, whose cost grows with the alleles: a map read by every
    command would otherwise pay it on every read. Stack members' states follow
    from their place; `others` holds the shadow, canary and deprecated ones.
    """
    alleles = dict.fromkeys(stack, STATES["recessive"])
    if dominant is not None:
        alleles[dominant] = STATES["dominant"]
    alleles.update((a, STATES[s]) for a, s in others.items())
    return LocusMap.model_construct(dominant=dominant, stack=stack, alleles=alleles, weights=Weights.model_construct(**weights) if weights else None)


def construct_map(head: dict, loci: dict[str, LocusMap]) -> PhenotypeMap:
    """A map from a validated map's `model_dump(exclude={"loci"})` and its loci, without validating again."""
    pathways = {p: PathwayMap.model_construct(state=e["state"], fused_allele=e.get("fused_allele")) for p, e in head["pathways"].items()}
    return PhenotypeMap.model_construct(name=head["name"], topology=head["topology"], bindings=head["bindings"], settings=head["settings"], loci=loci, pathways=pathways)


def load_phenotype_file(path: str | Path) -> PhenotypeMap:
    """A map on disk: the file alone, or with the allele files beside it (a checked-out phenotype branch)."""
    path = Path(path)
    if path.with_suffix("").is_dir():
        from sggit.genome.phenolayout import read_files

        return read_files(path).pmap
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    return parse_phenotype(text, str(path))


# --- a small deterministic TOML emitter for this fixed schema ---------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Binding) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "[" + ", ".join(_value(v) for v in value) + "]"


def _table(lines: list[str], header: str, items: dict) -> None:
    lines.append("")
    lines.append(f"[{header}]")
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in items.items())


def dump_phenotype(pmap: PhenotypeMap, *, alleles: bool = True) -> str:
    """The map as TOML in canonical order: header, bindings, settings, loci (sorted), pathways (sorted).

    `alleles=False` writes the head of a map kept one file per allele
    (sggit.genome.phenolayout): per locus only its dominant and weights.
    """
    if alleles:
        pmap = PhenotypeMap.model_validate(pmap.model_dump())
    lines = [f"name = {_value(pmap.name)}", f"topology = {_value(pmap.topology)}"]
    if pmap.bindings:
        _table(lines, "bindings", pmap.bindings)
    if pmap.settings:
        flat = {k: v for k, v in pmap.settings.items() if not isinstance(v, dict)}
        _table(lines, "settings", flat)
        for key in sorted(k for k, v in pmap.settings.items() if isinstance(v, dict)):
            _table(lines, f"settings.{_key(key)}", pmap.settings[key])  # type: ignore[arg-type]
    for locus in sorted(pmap.loci):
        entry = pmap.loci[locus]
        head: dict[str, Binding] = {}
        if entry.dominant is not None:
            head["dominant"] = entry.dominant
        if alleles:
            head["stack"] = list(entry.stack)
        _table(lines, f"loci.{_key(locus)}", head)
        if entry.weights is not None:
            _table(lines, f"loci.{_key(locus)}.weights", entry.weights.model_dump())
        if not alleles:
            continue
        order = [*entry.stack, *sorted(a for a in entry.alleles if a not in entry.stack)]
        if order:
            # One inline table per allele: the same data as [loci.x.alleles.<id>] tables, a line per
            # allele in diffs, and a parse that stays linear (tomllib slows down with many headers).
            lines.append("")
            lines.append(f"[loci.{_key(locus)}.alleles]")
            lines.extend(f'{allele} = {{ state = "{entry.alleles[allele].state}" }}' for allele in order)
    for name in sorted(pmap.pathways):
        pw = pmap.pathways[name]
        body: dict[str, Binding] = {"state": pw.state}
        if pw.fused_allele:
            body["fused_allele"] = pw.fused_allele
        _table(lines, f"pathways.{_key(name)}", body)
    return "\n".join(lines) + "\n"


# --- changes: pure functions from one valid map to the next ------------------------


def _copy(pmap: PhenotypeMap) -> PhenotypeMap:
    """A copy whose tables can be changed; entries are shared, since changes replace them whole."""
    return pmap.model_copy(update={
        "bindings": dict(pmap.bindings), "settings": dict(pmap.settings),
        "loci": dict(pmap.loci), "pathways": dict(pmap.pathways),
    })


def _rebuilt(entry: LocusMap, stack: list[str], dominant: bool, extra: dict[str, str]) -> LocusMap:
    # Consistent by construction (the stack's states follow from its order; the others keep theirs),
    # so not validated again; built with set and dict operations rather than a step per allele,
    # so that a change costs little more at a locus of 1,000 alleles than at one of 10.
    outside = entry.alleles.keys() - set(stack)
    alleles = {a: STATES[entry.alleles[a].state] for a in outside}
    alleles.update((a, STATES[s]) for a, s in extra.items())
    alleles.update(dict.fromkeys(stack, STATES["recessive"]))
    if stack and dominant:
        alleles[stack[0]] = STATES["dominant"]
    return LocusMap.model_construct(dominant=stack[0] if stack and dominant else None, stack=stack, alleles=alleles, weights=entry.weights)


def set_state(pmap: PhenotypeMap, locus: str, allele: str, state: str) -> PhenotypeMap | None:
    """Move an allele to a lifecycle state, keeping the stack consistent; None if nothing changes.

    dominant: first in the stack, the old dominant second. recessive: in the
    stack after the others (or where it was). shadow, canary, deprecated: out of
    the stack; if it was dominant, the next allele in the stack takes over.
    """
    if state not in LIFECYCLE:
        raise UsageError(f"unknown lifecycle state {state!r}", hint=f"one of {', '.join(LIFECYCLE)}")
    _check_id(allele)
    entry = pmap.locus(locus)
    current = entry.alleles.get(allele)
    if current is not None and current.state == state:
        return None
    stack = list(entry.stack)
    if allele in stack:
        stack.remove(allele)
    has_dominant = entry.dominant is not None and entry.dominant != allele
    extra: dict[str, str] = {}
    if state == "dominant":
        stack.insert(0, allele)
        has_dominant = True
    elif state == "recessive":
        if entry.dominant == allele:
            has_dominant = bool(stack)
        stack.append(allele)
    else:
        extra[allele] = state
        if entry.dominant == allele:
            has_dominant = bool(stack)
    out = _copy(pmap)
    out.loci[locus] = _rebuilt(entry, stack, has_dominant, extra)
    return out


def promote(pmap: PhenotypeMap, locus: str, allele: str) -> PhenotypeMap | None:
    return set_state(pmap, locus, allele, "dominant")


def demote(pmap: PhenotypeMap, locus: str, allele: str, successor: str | None = None) -> PhenotypeMap | None:
    """Dominant becomes recessive (last in the stack) and the next allele leads, or `successor` where one is named
    (a reviewed allele at a locus whose risk demands review); recessive becomes deprecated."""
    entry = pmap.locus(locus)
    current = entry.alleles.get(allele)
    if current is None:
        raise UsageError(f"allele {allele[:12]} is not in phenotype {pmap.name} at {locus}")
    if current.state == "dominant":
        if len(entry.stack) < 2:
            raise UsageError(f"{allele[:12]} is the only allele in the stack of {locus}", hint="register another allele before demoting it")
        demoted = set_state(pmap, locus, allele, "recessive")
        if successor is None or demoted is None or demoted.locus(locus).dominant == successor:
            return demoted
        return set_state(demoted, locus, successor, "dominant")
    if current.state == "deprecated":
        return None
    return set_state(pmap, locus, allele, "deprecated")


def fuse(pmap: PhenotypeMap, pathway: str, allele: str) -> PhenotypeMap | None:
    current = pmap.pathways.get(pathway)
    if current is not None and current.state == "fused" and current.fused_allele == allele:
        return None
    out = _copy(pmap)
    out.pathways[pathway] = PathwayMap(state="fused", fused_allele=_check_id(allele))
    return out


def decompose(pmap: PhenotypeMap, pathway: str) -> PhenotypeMap | None:
    current = pmap.pathways.get(pathway)
    if current is None or current.state != "fused":
        raise UsageError(f"pathway {pathway} is not fused in phenotype {pmap.name}")
    out = _copy(pmap)
    out.pathways[pathway] = PathwayMap(state="decomposed")
    return out
