"""Phenotype maps on their branches: every change is one commit with structured trailers.

`phenotype/<name>` holds only `phenotypes/<name>.toml`, so `git log phenotype/<name>`
is the deployment's history and `git revert` of one commit undoes one change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2
from pydantic import BaseModel

from sggit.errors import SggitError, UsageError
from sggit.fsutil import atomic_write_text
from sggit.genome import phenotype as ph
from sggit.genome.phenotype import PhenotypeMap, dump_phenotype, parse_phenotype
from sggit.genome.repo import PHENOTYPE_REF_PREFIX, Genome
from sggit.genome.trees import edit_tree, entry

TRAILER_KEYS = ("Sggit-Locus", "Sggit-Allele", "Sggit-Action", "Sggit-Fitness", "Sggit-Pathway", "Sggit-Reverts")
_TRAILER = re.compile(r"^(Sggit-[A-Za-z-]+):\s*(.*)$")


def phenotype_ref(name: str) -> str:
    return PHENOTYPE_REF_PREFIX + name


def phenotype_file(name: str) -> str:
    return f"phenotypes/{name}.toml"


@dataclass(frozen=True)
class Change:
    commit: str
    summary: str
    time: int
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def action(self) -> str | None:
        return self.trailers.get("Sggit-Action")


def parse_trailers(message: str) -> dict[str, str]:
    """Our trailers from the last paragraph of a commit message (what `git interpret-trailers` reads)."""
    last = message.strip().split("\n\n")[-1]
    found: dict[str, str] = {}
    for line in last.splitlines():
        m = _TRAILER.match(line.strip())
        if m:
            found[m.group(1)] = m.group(2).strip()
    return found


def compose_message(subject: str, trailers: dict[str, str | None], body: str | None = None) -> str:
    parts = [subject.strip()]
    if body:
        parts.append(body.strip())
    lines = [f"{k}: {v}" for k, v in trailers.items() if v is not None and v != ""]
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def phenotype_names(genome: Genome) -> list[str]:
    prefix = PHENOTYPE_REF_PREFIX
    return sorted(r[len(prefix):] for r in genome.repo.references if r.startswith(prefix))


def _map_at(genome: Genome, commit: pygit2.Commit, name: str, *, tip: bool = False) -> PhenotypeMap:
    """The map in `commit`; a tip's map comes from the content-named cache when it holds this blob."""
    blob = entry(commit.tree, phenotype_file(name))
    if not isinstance(blob, pygit2.Blob):
        raise SggitError(f"phenotype/{name} at {str(commit.id)[:12]} has no {phenotype_file(name)}")
    if tip:
        try:
            return PhenotypeMap.model_validate(json.loads(_cache_path(genome, name, str(blob.id), "map").read_bytes()))
        except (OSError, ValueError):
            pass
    pmap = parse_phenotype(blob.data.decode("utf-8"), f"phenotype/{name}:{phenotype_file(name)}")
    if tip:
        _keep_cache(genome, name, str(blob.id), pmap)
    return pmap


def read_phenotype(genome: Genome, name: str) -> PhenotypeMap:
    oid = genome.target(phenotype_ref(name))
    if oid is None:
        known = phenotype_names(genome)
        raise UsageError(f"no phenotype {name}", hint=f"known: {', '.join(known)}" if known else "run `sggit init` first")
    return _map_at(genome, genome.repo[oid].peel(pygit2.Commit), name, tip=True)


class LocusSummary(BaseModel):
    dominant: str | None
    depth: int
    weights: ph.Weights | None = None


class MapSummary(BaseModel):
    """What a status line needs of a map, O(loci) in size however many alleles each locus holds."""

    topology: str
    loci: dict[str, LocusSummary]

    @classmethod
    def of(cls, pmap: PhenotypeMap) -> MapSummary:
        return cls(topology=pmap.topology, loci={
            locus: LocusSummary(
                dominant=entry.dominant,
                depth=max(len(entry.stack) - 1, 0) if entry.dominant else len(entry.stack),
                weights=entry.weights,
            ) for locus, entry in pmap.loci.items()
        })


def _cache_path(genome: Genome, name: str, blob: str, kind: str) -> Path:
    return genome.state_dir / "cache" / f"phenotype-{name}-{blob}.{kind}.json"


def _keep_cache(genome: Genome, name: str, blob: str, pmap: PhenotypeMap) -> MapSummary:
    """Cache the map's summary and its data under its blob id: content-named, so never stale.

    Readers that need only a little of a big map (status, show) then skip the TOML
    parse and the validation, which grow with the number of alleles.
    """
    summary = MapSummary.of(pmap)
    try:
        directory = _cache_path(genome, name, blob, "map").parent
        directory.mkdir(exist_ok=True)
        atomic_write_text(_cache_path(genome, name, blob, "map"), json.dumps(pmap.model_dump(mode="json")))
        atomic_write_text(_cache_path(genome, name, blob, "summary"), summary.model_dump_json())
        for old in directory.glob(f"phenotype-{name}-*.json"):
            if blob not in old.name:
                old.unlink(missing_ok=True)
    except (OSError, SggitError):
        pass  # a cache we cannot write only costs the next reader a parse
    return summary


def _tip_blob(genome: Genome, name: str) -> tuple[pygit2.Commit, pygit2.Blob | None]:
    oid = genome.target(phenotype_ref(name))
    if oid is None:
        read_phenotype(genome, name)  # raises the usual error
        raise UsageError(f"no phenotype {name}")
    commit = genome.repo[oid].peel(pygit2.Commit)
    blob = entry(commit.tree, phenotype_file(name))
    return commit, blob if isinstance(blob, pygit2.Blob) else None


def read_summary(genome: Genome, name: str) -> MapSummary:
    """The tip map's summary: from the cache when this blob was seen before, else parsed once."""
    commit, blob = _tip_blob(genome, name)
    if blob is not None:
        try:
            return MapSummary.model_validate_json(_cache_path(genome, name, str(blob.id), "summary").read_bytes())
        except (OSError, ValueError):
            pass
    pmap = _map_at(genome, commit, name)
    return _keep_cache(genome, name, str(blob.id), pmap) if blob is not None else MapSummary.of(pmap)


def read_map_data(genome: Genome, name: str) -> dict[str, Any]:
    """The tip map as plain data (`PhenotypeMap.model_dump()`), validated when it was cached; for lookups."""
    commit, blob = _tip_blob(genome, name)
    if blob is not None:
        try:
            data = json.loads(_cache_path(genome, name, str(blob.id), "map").read_bytes())
            if isinstance(data, dict):
                return data
        except (OSError, ValueError):
            pass
    pmap = _map_at(genome, commit, name)
    if blob is not None:
        _keep_cache(genome, name, str(blob.id), pmap)
    return pmap.model_dump(mode="json")


def change_phenotype(
    genome: Genome,
    name: str,
    edit: Callable[[PhenotypeMap], PhenotypeMap | None],
    *,
    action: str,
    subject: str,
    locus: str | None = None,
    allele: str | None = None,
    fitness: float | None = None,
    pathway: str | None = None,
) -> str | None:
    """Apply `edit` to the branch tip's map and commit the result; None when `edit` changes nothing."""
    refname = phenotype_ref(name)
    path = phenotype_file(name)
    trailers = {
        "Sggit-Locus": locus,
        "Sggit-Allele": allele,
        "Sggit-Pathway": pathway,
        "Sggit-Action": action,
        "Sggit-Fitness": None if fitness is None else f"{fitness:.4f}",
    }
    message = compose_message(subject, trailers)

    def build(tip: pygit2.Commit | None) -> tuple[pygit2.Oid, str] | None:
        if tip is None:
            raise UsageError(f"no phenotype {name}", hint="create it with `sggit init`")
        new = edit(_map_at(genome, tip, name, tip=True))
        if new is None:
            return None
        blob = genome.repo.create_blob(dump_phenotype(new).encode())
        tree = edit_tree(genome.repo, tip.tree, {path: blob})
        if tree == tip.tree.id:
            return None
        written[:] = [(str(blob), new)]
        return tree, message

    written: list[tuple[str, PhenotypeMap]] = []
    with genome.locked():
        oid = genome.commit_to(refname, build, reflog=f"phenotype {action}")
    if oid is not None and written:
        _keep_cache(genome, name, *written[0])
    return None if oid is None else str(oid)


def create_phenotype(genome: Genome, pmap: PhenotypeMap, *, subject: str | None = None) -> str | None:
    """Start `phenotype/<name>` as an orphan branch holding only its map; None if it exists already."""
    refname = phenotype_ref(pmap.name)
    blob = genome.repo.create_blob(dump_phenotype(pmap).encode())
    tree = edit_tree(genome.repo, None, {phenotype_file(pmap.name): blob})
    message = compose_message(subject or f"create phenotype {pmap.name} for {pmap.topology}", {"Sggit-Action": "create"})

    def build(tip: pygit2.Commit | None) -> tuple[pygit2.Oid, str] | None:
        return None if tip is not None else (tree, message)

    oid = genome.commit_to(refname, build, reflog="phenotype create")
    return None if oid is None else str(oid)


def register_in_phenotype(genome: Genome, name: str, locus: str, allele: str, state: str = "recessive") -> str | None:
    def edit(pmap: PhenotypeMap) -> PhenotypeMap | None:
        if allele in pmap.locus(locus).alleles:
            return None
        return ph.set_state(pmap, locus, allele, state)

    return change_phenotype(genome, name, edit, action="register", subject=f"register {locus}: {allele[:12]} as {state}", locus=locus, allele=allele)


def register_many_in_phenotype(genome: Genome, name: str, locus: str, alleles: list[str], state: str = "recessive") -> str | None:
    """Enter many alleles at one locus in one commit; with `dominant`, the last one leads. None if all are there."""
    def edit(pmap: PhenotypeMap) -> PhenotypeMap | None:
        todo = [a for a in alleles if a not in pmap.locus(locus).alleles]
        if not todo:
            return None
        for allele in todo:
            pmap = ph.set_state(pmap, locus, allele, state) or pmap
        return pmap

    if len(alleles) == 1:
        return register_in_phenotype(genome, name, locus, alleles[0], state)
    return change_phenotype(genome, name, edit, action="register", subject=f"register {len(alleles)} alleles at {locus} as {state}", locus=locus)


def promote(genome: Genome, name: str, locus: str, allele: str, *, fitness: float | None = None) -> str | None:
    return change_phenotype(
        genome, name, lambda m: ph.promote(m, locus, allele), action="promote",
        subject=f"promote {locus}: {allele[:12]} to dominant", locus=locus, allele=allele, fitness=fitness,
    )


def demote(genome: Genome, name: str, locus: str, allele: str, *, fitness: float | None = None, successor: str | None = None) -> str | None:
    subject = f"demote {locus}: {allele[:12]}" + (f", {successor[:12]} leads" if successor else "")
    return change_phenotype(
        genome, name, lambda m: ph.demote(m, locus, allele, successor), action="demote",
        subject=subject, locus=locus, allele=allele, fitness=fitness,
    )


def set_lifecycle(genome: Genome, name: str, locus: str, allele: str, state: str, *, fitness: float | None = None) -> str | None:
    return change_phenotype(
        genome, name, lambda m: ph.set_state(m, locus, allele, state), action=state,
        subject=f"{locus}: {allele[:12]} is now {state}", locus=locus, allele=allele, fitness=fitness,
    )


def fuse(genome: Genome, name: str, pathway: str, allele: str, *, fitness: float | None = None) -> str | None:
    return change_phenotype(
        genome, name, lambda m: ph.fuse(m, pathway, allele), action="fuse",
        subject=f"fuse {pathway} into {allele[:12]}", pathway=pathway, allele=allele, fitness=fitness,
    )


def decompose(genome: Genome, name: str, pathway: str) -> str | None:
    return change_phenotype(genome, name, lambda m: ph.decompose(m, pathway), action="decompose", subject=f"decompose {pathway}", pathway=pathway)


def history(genome: Genome, name: str, limit: int | None = None) -> list[Change]:
    """The branch's changes, newest first (first-parent walk)."""
    oid = genome.target(phenotype_ref(name))
    out: list[Change] = []
    while oid is not None and (limit is None or len(out) < limit):
        commit = genome.repo[oid].peel(pygit2.Commit)
        out.append(Change(str(commit.id), commit.message.splitlines()[0] if commit.message else "", commit.commit_time, parse_trailers(commit.message)))
        oid = commit.parent_ids[0] if commit.parent_ids else None
    return out


def revert_map(before: PhenotypeMap, after: PhenotypeMap, current: PhenotypeMap) -> PhenotypeMap:
    """Undo before->after on current, entry by entry (a locus, a pathway, a top-level field).

    This is `git revert` on the map's structure rather than its lines: a later
    change to another locus never conflicts, a later change to the same entry does.
    """
    b, a, c = before.model_dump(), after.model_dump(), current.model_dump()
    out = dict(c)
    conflicts: list[str] = []
    for key in ("name", "topology", "bindings", "settings"):
        if a[key] != b[key]:
            if c[key] != a[key]:
                conflicts.append(key)
            else:
                out[key] = b[key]
    for table in ("loci", "pathways"):
        merged = dict(c[table])
        for entry_name in sorted(set(b[table]) | set(a[table])):
            old, new, now = b[table].get(entry_name), a[table].get(entry_name), c[table].get(entry_name)
            if old == new:
                continue
            if now != new:
                conflicts.append(f"{table}.{entry_name}")
            elif old is None:
                merged.pop(entry_name, None)
            else:
                merged[entry_name] = old
        out[table] = merged
    if conflicts:
        raise SggitError(f"later changes touch {', '.join(conflicts)}; reverting this change would undo them too", hint="roll back the later changes first")
    return PhenotypeMap.model_validate(out)


def rollback(genome: Genome, name: str, commit: str | None = None) -> str:
    """Revert one phenotype change (the last by default) with a `git revert`-style commit."""
    refname = phenotype_ref(name)
    repo = genome.repo
    with genome.locked():
        tip_oid = genome.target(refname)
        if tip_oid is None:
            raise UsageError(f"no phenotype {name}")
        tip = repo[tip_oid].peel(pygit2.Commit)
        if commit is None:
            target = tip
        else:
            try:
                target = repo.revparse_single(commit).peel(pygit2.Commit)
            except (KeyError, ValueError, pygit2.GitError):
                raise UsageError(f"no commit {commit}") from None
            if target.id != tip.id and not repo.descendant_of(tip.id, target.id):
                raise UsageError(f"commit {commit} is not on phenotype/{name}")
        if not target.parent_ids:
            raise UsageError(f"{str(target.id)[:12]} created phenotype {name}; there is nothing before it to return to")
        before = _map_at(genome, repo[target.parent_ids[0]].peel(pygit2.Commit), name)
        reverted = revert_map(before, _map_at(genome, target, name), _map_at(genome, tip, name))
        blob = repo.create_blob(dump_phenotype(reverted).encode())
        tree = edit_tree(repo, tip.tree, {phenotype_file(name): blob})
        summary = target.message.splitlines()[0] if target.message else ""
        old = parse_trailers(target.message)
        message = compose_message(
            f'Revert "{summary}"',
            {"Sggit-Locus": old.get("Sggit-Locus"), "Sggit-Allele": old.get("Sggit-Allele"), "Sggit-Pathway": old.get("Sggit-Pathway"),
             "Sggit-Action": "rollback", "Sggit-Reverts": str(target.id)},
            body=f"This reverts commit {target.id}.",
        )
        sig = genome.signature()
        new = repo.create_commit(None, sig, sig, message, tree, [tip.id])
        if not genome.compare_and_swap(refname, new, tip.id, f"phenotype rollback: {summary}"):
            raise SggitError(f"phenotype/{name} changed during the rollback; try again")
        return str(new)
