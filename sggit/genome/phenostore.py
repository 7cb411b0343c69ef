"""Phenotype maps on their branches: every change is one commit with structured trailers.

`phenotype/<name>` holds only its map (`phenotypes/<name>.toml` and one small file
per allele, see sggit.genome.phenolayout), so `git log phenotype/<name>` is the
deployment's history and `git revert` of one commit undoes one change.
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
from sggit.genome import phenolayout as layout
from sggit.genome import phenotype as ph
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import PHENOTYPE_REF_PREFIX, Genome
from sggit.genome.trees import entry

TRAILER_KEYS = ("Sggit-Locus", "Sggit-Allele", "Sggit-Action", "Sggit-Fitness", "Sggit-Pathway", "Sggit-Reverts")
_TRAILER = re.compile(r"^(Sggit-[A-Za-z-]+):\s*(.*)$")


def phenotype_ref(name: str) -> str:
    return PHENOTYPE_REF_PREFIX + name


def phenotype_file(name: str) -> str:
    """The map's head file; a map kept one file per allele also has the folder beside it."""
    return layout.head_path(name)


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


def _key(commit: pygit2.Commit) -> str | None:
    """What names a commit's map in the cache: the id of its `phenotypes` tree (either layout)."""
    folder = entry(commit.tree, layout.PHENOTYPES_DIR)
    return str(folder.id) if folder is not None else None


def stored_at(genome: Genome, commit: pygit2.Commit, name: str, *, tip: bool = False) -> layout.Stored:
    """The map in `commit`, in either layout; a tip's map comes from the content-named cache when it holds it."""
    key = _key(commit) if tip else None
    if key is not None:
        try:
            return _expand(json.loads(_cache_path(genome, name, key, "map").read_bytes()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
    stored = layout.read_tree(genome.repo, commit.tree, name, f"phenotype/{name} at {str(commit.id)[:12]}")
    if key is not None:
        _keep_cache(genome, name, key, stored)
    return stored


def _compact(stored: layout.Stored) -> dict[str, Any]:
    """The cached form: per locus its stack, the recessives' ranks in stack order, and the other states.

    Lists of ids rather than a table per allele, so reading a big map back costs
    little more than reading its ids.
    """
    loci: dict[str, Any] = {}
    for locus, e in stored.pmap.loci.items():
        listed = locus not in stored.ranks and locus in stored.rank_lists
        ranks = stored.ranks_of(locus) if not listed else {}
        loci[locus] = {
            "dominant": e.dominant, "stack": e.stack,
            "ranks": stored.rank_lists[locus] if listed else list(map(ranks.__getitem__, layout.recessives(e))) if ranks else [],
            "others": {a: e.alleles[a].state for a in sorted(e.alleles.keys() - set(e.stack))},
            "weights": e.weights.model_dump() if e.weights else None,
        }
    return {"split": stored.split, "head": stored.pmap.model_dump(mode="json", exclude={"loci"}), "loci": loci}


def _expand(data: dict[str, Any]) -> layout.Stored:
    loci = {locus: ph.construct_locus(e["dominant"], e["stack"], e["others"], e["weights"]) for locus, e in data["loci"].items()}
    lists = {locus: e["ranks"] for locus, e in data["loci"].items() if e["ranks"]}
    return layout.Stored(ph.construct_map(data["head"], loci), {}, data["split"], lists)


def _map_at(genome: Genome, commit: pygit2.Commit, name: str, *, tip: bool = False) -> PhenotypeMap:
    return stored_at(genome, commit, name, tip=tip).pmap


def read_phenotype(genome: Genome, name: str) -> PhenotypeMap:
    return _map_at(genome, _tip(genome, name), name, tip=True)


def map_data_at(genome: Genome, commit: pygit2.Oid, name: str) -> dict[str, Any]:
    """The map of phenotype `name` in any commit, as plain data (`model_dump()`), for merges."""
    return _map_at(genome, genome.repo[commit].peel(pygit2.Commit), name).model_dump(mode="json")


def tree_with(genome: Genome, base: pygit2.Commit, name: str, pmap: PhenotypeMap) -> pygit2.Oid:
    """`base`'s tree with `pmap` stored in it, rewriting only the files that change."""
    tree, _ = layout.write_tree(genome.repo, base.tree, name, stored_at(genome, base, name, tip=True), pmap)
    return tree


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


def _cache_path(genome: Genome, name: str, key: str, kind: str) -> Path:
    return genome.state_dir / "cache" / f"phenotype-{name}-{key}.{kind}.json"


def _keep_cache(genome: Genome, name: str, key: str, stored: layout.Stored) -> MapSummary:
    """Cache the map, its ranks and its summary under the id of its tree: content-named, so never stale.

    Readers then skip reading one file per allele and validating them, and those
    that need only a little of a big map (status, show) read only the summary.
    """
    summary = MapSummary.of(stored.pmap)
    try:
        directory = _cache_path(genome, name, key, "map").parent
        directory.mkdir(exist_ok=True)
        atomic_write_text(_cache_path(genome, name, key, "map"), json.dumps(_compact(stored), separators=(",", ":")), durable=False)
        atomic_write_text(_cache_path(genome, name, key, "summary"), summary.model_dump_json(), durable=False)
        for old in directory.glob(f"phenotype-{name}-*.json"):
            if key not in old.name:
                old.unlink(missing_ok=True)
    except (OSError, SggitError):
        pass  # a cache we cannot write only costs the next reader a parse
    return summary


def unknown_phenotype(genome: Genome, name: str, known: list[str] | None = None) -> UsageError:
    """The one way every command says a phenotype does not exist: with the names that do."""
    known = phenotype_names(genome) if known is None else known
    return UsageError(f"no phenotype {name or repr(name)}", hint=f"known: {', '.join(known)}" if known else "run `sggit init` first")


def _tip(genome: Genome, name: str) -> pygit2.Commit:
    oid = genome.target(phenotype_ref(name))
    if oid is None:
        raise unknown_phenotype(genome, name)
    return genome.repo[oid].peel(pygit2.Commit)


def read_summary(genome: Genome, name: str) -> MapSummary:
    """The tip map's summary: from the cache when this tree was seen before, else read once."""
    commit = _tip(genome, name)
    key = _key(commit)
    if key is not None:
        try:
            return MapSummary.model_validate_json(_cache_path(genome, name, key, "summary").read_bytes())
        except (OSError, ValueError):
            pass
    stored = stored_at(genome, commit, name)
    return _keep_cache(genome, name, key, stored) if key is not None else MapSummary.of(stored.pmap)


def read_map_data(genome: Genome, name: str) -> dict[str, Any]:
    """The tip map as plain data shaped as `PhenotypeMap.model_dump()`, for lookups; treat it as read-only.

    Built from the cache without making a model per allele (entries of one state
    share one dict), so a lookup in a big map costs about a pass over its ids.
    """
    commit = _tip(genome, name)
    key = _key(commit)
    if key is not None:
        try:
            return _dumped(json.loads(_cache_path(genome, name, key, "map").read_bytes()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
    return stored_at(genome, commit, name, tip=True).pmap.model_dump(mode="json")


_STATE_DATA = {state: {"state": state} for state in ph.LIFECYCLE}


def _dumped(data: dict[str, Any]) -> dict[str, Any]:
    loci: dict[str, Any] = {}
    for locus, e in data["loci"].items():
        alleles = dict.fromkeys(e["stack"], _STATE_DATA["recessive"])
        if e["dominant"] is not None:
            alleles[e["dominant"]] = _STATE_DATA["dominant"]
        alleles.update((a, _STATE_DATA[s]) for a, s in e["others"].items())
        loci[locus] = {"dominant": e["dominant"], "stack": e["stack"], "alleles": alleles, "weights": e["weights"]}
    return {**data["head"], "loci": loci}


def migrate(genome: Genome, name: str) -> str | None:
    """Rewrite a single-file map into one file per allele, as a commit of its own; None if it is already.

    Writers call this before their first change, so that change's commit (and its
    pull request, and its `git revert`) holds only the change.
    """
    refname = phenotype_ref(name)
    message = compose_message(f"phenotype {name}: keep one file per allele", {"Sggit-Action": "migrate"},
                              body="The map is unchanged; the stack and the alleles' states move from the head to their own files.")

    def rewrite(tip: pygit2.Commit) -> pygit2.Oid | None:
        if isinstance(entry(tip.tree, layout.alleles_dir(name)), pygit2.Tree):
            return None
        stored = stored_at(genome, tip, name, tip=True)
        if stored.split:
            return None
        tree, new = layout.write_tree(genome.repo, tip.tree, name, None, stored.pmap)
        written[:] = [new]
        return tree

    written: list[layout.Stored] = []
    oid = genome.migrate(refname, rewrite, message, reflog="phenotype migrate")
    _remember(genome, name, oid, written)
    return None if oid is None else str(oid)


def _remember(genome: Genome, name: str, oid: pygit2.Oid | None, written: list[layout.Stored]) -> None:
    if oid is not None and written:
        key = _key(genome.repo[oid].peel(pygit2.Commit))
        if key is not None:
            _keep_cache(genome, name, key, written[0])


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
            raise unknown_phenotype(genome, name)
        stored = stored_at(genome, tip, name, tip=True)
        new = edit(stored.pmap)
        if new is None:
            return None
        tree, kept = layout.write_tree(genome.repo, tip.tree, name, stored, new)
        if tree == tip.tree.id:
            return None
        written[:] = [kept]
        return tree, message

    written: list[layout.Stored] = []
    with genome.locked():
        if genome.target(refname) is not None:
            migrate(genome, name)
        oid = genome.commit_to(refname, build, reflog=f"phenotype {action}")
    _remember(genome, name, oid, written)
    return None if oid is None else str(oid)


def create_phenotype(genome: Genome, pmap: PhenotypeMap, *, subject: str | None = None) -> str | None:
    """Start `phenotype/<name>` as an orphan branch holding only its map; None if it exists already."""
    refname = phenotype_ref(pmap.name)
    tree, _ = layout.write_tree(genome.repo, None, pmap.name, None, pmap)
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
            raise unknown_phenotype(genome, name)
        try:
            if migrate(genome, name) is not None:
                tip_oid = genome.target(refname)
                assert tip_oid is not None
        except SggitError:
            pass  # a head that does not parse is not migrated; reverting it is below
        assert tip_oid is not None
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
        parent = repo[target.parent_ids[0]].peel(pygit2.Commit)
        try:
            before = _map_at(genome, parent, name)
            reverted = revert_map(before, _map_at(genome, target, name), _map_at(genome, tip, name))
            tree = tree_with(genome, tip, name, reverted)
        except SggitError:
            if target.id != tip.id:
                raise
            # a head that does not parse (edited by hand, a bad merge) blocks every command but this one:
            # reverting a head is its parent's tree, as `git revert` gives
            _map_at(genome, parent, name)
            tree = parent.tree.id
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
