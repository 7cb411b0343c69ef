"""How a phenotype map is laid out in files: a small head, and one small file per allele.

    phenotypes/<name>.toml                              name, topology, bindings, settings,
                                                        pathways; per locus its dominant, weights
    phenotypes/<name>/<locus>/<id[:2]>/<id[2:]>.toml    state = "recessive" (+ rank = 3)

A locus's stack is its dominant, then its recessives in (rank, id) order. Every
change (register, promote, demote, a lifecycle step) rewrites the head where a
dominant moves and one or two allele files, so a commit and its diff stay small
however many alleles a locus holds, and `git revert` of one commit undoes one
change. The fanout directory (as git notes use) keeps every tree a commit
rewrites small too.

The single-file layout, where `phenotypes/<name>.toml` also holds each locus's
`stack` and `[loci.<locus>.alleles]`, still reads (genomes made before, and every
shipped `phenotypes/*.toml`); a branch in it is rewritten into this layout, in a
commit of its own, before its first change.
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pygit2
from pydantic import ValidationError

from sggit.errors import SggitError, first_problem
from sggit.genome.phenotype import LIFECYCLE, AlleleState, LocusMap, PhenotypeMap, dump_phenotype
from sggit.genome.trees import edit_tree, entry

PHENOTYPES_DIR = "phenotypes"
_CANONICAL = re.compile(r'\Astate = "([a-z]+)"\n(?:rank = (-?[0-9]+)\n)?\Z')
_HEX = re.compile(r"\A[0-9a-f]+\Z")
_HEAD_LOCUS_KEYS = {"dominant", "weights"}


def head_path(name: str) -> str:
    return f"{PHENOTYPES_DIR}/{name}.toml"


def alleles_dir(name: str) -> str:
    return f"{PHENOTYPES_DIR}/{name}"


def allele_path(name: str, locus: str, allele: str) -> str:
    return f"{alleles_dir(name)}/{locus}/{allele[:2]}/{allele[2:]}.toml"


@dataclass
class Stored:
    """A map as read from its files, with what the map itself does not say: the recessives' ranks.

    `ranks` may be given as, per locus, the ranks of the stack's recessives in stack
    order (`rank_lists`), turned into a table only for the loci a writer changes.
    """

    pmap: PhenotypeMap
    ranks: dict[str, dict[str, int]] = field(default_factory=dict)
    split: bool = True
    rank_lists: dict[str, list[int]] = field(default_factory=dict)

    def ranks_of(self, locus: str) -> dict[str, int]:
        if locus not in self.ranks and self.rank_lists.get(locus):
            self.ranks[locus] = dict(zip(recessives(self.pmap.loci[locus]), self.rank_lists[locus], strict=True))
        return self.ranks.get(locus, {})


def dump_allele(state: str, rank: int | None) -> str:
    return f'state = "{state}"\n' + (f"rank = {rank}\n" if rank is not None else "")


def parse_allele(text: str, origin: str) -> tuple[str, int | None]:
    """(state, rank) of one allele file; the canonical form is matched, anything else parsed as TOML."""
    m = _CANONICAL.match(text)
    if m:
        state, rank = m.group(1), m.group(2)
        data: dict[str, Any] = {"state": state} | ({"rank": int(rank)} if rank is not None else {})
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SggitError(f"{origin}: invalid TOML: {exc}") from None
    unknown = sorted(set(data) - {"state", "rank"})
    if unknown:
        raise SggitError(f"{origin}: unknown key {unknown[0]}", hint="an allele file holds `state` and, for a recessive, `rank`")
    state, rank = data.get("state"), data.get("rank")
    if state not in LIFECYCLE:
        raise SggitError(f"{origin}: state: {state!r} is not one of {', '.join(LIFECYCLE)}")
    if rank is not None and (not isinstance(rank, int) or isinstance(rank, bool)):
        raise SggitError(f"{origin}: rank: must be an integer")
    if state == "recessive" and rank is None:
        raise SggitError(f"{origin}: rank: a recessive allele needs its place in the stack", hint="rank = <integer>; lower ranks are tried first")
    if state != "recessive" and rank is not None:
        raise SggitError(f"{origin}: rank: only a recessive allele has a rank, this one is {state}")
    return str(state), rank


def assemble(head: dict[str, Any], files: Mapping[str, Mapping[str, tuple[str, int | None]]], origin: str) -> Stored:
    """The map of a head and its allele files (locus -> allele -> (state, rank)), checked like any map."""
    data = dict(head)
    loci_head = data.get("loci", {})
    if not isinstance(loci_head, dict):
        raise SggitError(f"{origin}: loci: must be a table")
    loci: dict[str, Any] = {}
    ranks: dict[str, dict[str, int]] = {}
    for locus in sorted(set(loci_head) | set(files)):
        top = loci_head.get(locus, {})
        if not isinstance(top, dict):
            raise SggitError(f"{origin}: loci.{locus}: must be a table")
        extra = sorted(set(top) - _HEAD_LOCUS_KEYS)
        if extra:
            raise SggitError(f"{origin}: loci.{locus}.{extra[0]}: not in the head of a map kept one file per allele",
                             hint=f"the stack and the alleles' states are the files under {origin.rsplit('.', 1)[0]}/{locus}/")
        states = files.get(locus, {})
        ranked = {a: r for a, (s, r) in states.items() if s == "recessive" and r is not None}
        dominant = top.get("dominant")
        stack = ([dominant] if dominant else []) + sorted(ranked, key=lambda a: (ranked[a], a))
        loci[locus] = {**top, "stack": stack, "alleles": {a: {"state": s} for a, (s, _) in sorted(states.items())}}
        if ranked:
            ranks[locus] = ranked
    data["loci"] = loci
    return Stored(validate(data, origin), ranks, split=True)


def validate(data: dict[str, Any], origin: str) -> PhenotypeMap:
    try:
        return PhenotypeMap.model_validate(data)
    except ValidationError as exc:
        raise SggitError(f"{origin}: {first_problem(exc)}") from None


def _head_data(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SggitError(f"{origin}: invalid TOML: {exc}") from None


# --- in a git tree --------------------------------------------------------------------


def read_tree(repo: pygit2.Repository, tree: pygit2.Tree, name: str, where: str) -> Stored:
    """The map stored in a commit's tree (either layout); `where` names the commit in errors."""
    origin = f"{where}:{head_path(name)}"
    head = entry(tree, head_path(name))
    if not isinstance(head, pygit2.Blob):
        raise SggitError(f"{where} has no {head_path(name)}")
    data = _head_data(head.data.decode("utf-8"), origin)
    folder = entry(tree, alleles_dir(name))
    if not isinstance(folder, pygit2.Tree):
        return Stored(validate(data, origin), {}, split=False)
    files: dict[str, dict[str, tuple[str, int | None]]] = {}
    seen: dict[pygit2.Oid, tuple[str, int | None]] = {}
    for locus, allele, path, blob_id in _tree_files(repo, folder, alleles_dir(name)):
        found = seen.get(blob_id)
        if found is None:
            blob = repo[blob_id]
            found = seen[blob_id] = parse_allele(blob.data.decode("utf-8", "replace"), f"{where}:{path}")  # type: ignore[attr-defined]
        files.setdefault(locus, {})[allele] = found
    return assemble(data, files, origin)


def _tree_files(repo: pygit2.Repository, folder: pygit2.Tree, prefix: str) -> Iterator[tuple[str, str, str, pygit2.Oid]]:
    for locus_entry in folder:
        locus = locus_entry.name or ""
        sub = repo[locus_entry.id]
        if not isinstance(sub, pygit2.Tree):
            raise SggitError(f"{prefix}/{locus}: expected a directory of allele files")
        for fan in sub:
            leaf = repo[fan.id]
            if not isinstance(leaf, pygit2.Tree):
                raise SggitError(f"{prefix}/{locus}/{fan.name}: expected a directory named by two hex digits")
            for item in leaf:
                file = item.name or ""
                path = f"{prefix}/{locus}/{fan.name}/{file}"
                allele = (fan.name or "") + file.removesuffix(".toml")
                if not file.endswith(".toml") or not _HEX.match(allele):
                    raise SggitError(f"{path}: not an allele file", hint="allele files are <locus>/<id[:2]>/<id[2:]>.toml")
                yield locus, allele, path, item.id


def write_tree(repo: pygit2.Repository, base: pygit2.Tree | None, name: str, old: Stored | None, new: PhenotypeMap) -> tuple[pygit2.Oid, Stored]:
    """`base` with `new` stored one file per allele, rewriting only the files whose content changes.

    With `old` (what `base` holds, read by `read_tree`), untouched loci are skipped by
    identity, as the map's changes replace a locus entry whole; without it, or when
    `old` is the single-file layout, every file is written (the migration).
    """
    changes: dict[str, pygit2.Oid | None] = {}
    blobs: dict[str, pygit2.Oid] = {}

    def blob(text: str) -> pygit2.Oid:
        if text not in blobs:
            blobs[text] = repo.create_blob(text.encode())
        return blobs[text]

    head_text = dump_phenotype(new, alleles=False)
    current = entry(base, head_path(name))
    if not isinstance(current, pygit2.Blob) or current.data != head_text.encode():
        changes[head_path(name)] = blob(head_text)
    incremental = old is not None and old.split
    before_loci = old.pmap.loci if old is not None and incremental else {}
    ranks: dict[str, dict[str, int]] = {}
    kept_ranks: list[str] = []
    for locus in sorted(set(before_loci) | set(new.loci)):
        after = new.loci.get(locus) or LocusMap()
        before = before_loci.get(locus)
        if incremental and before is after:
            kept_ranks.append(locus)
            continue
        old_ranks = old.ranks_of(locus) if old is not None and incremental else {}
        new_ranks = assign_ranks(recessives(after), old_ranks)
        if new_ranks:
            ranks[locus] = new_ranks
        previous = before.alleles if before is not None else {}
        for allele in _touched(previous, after.alleles, old_ranks, new_ranks):
            state = after.alleles.get(allele)
            if state is None:
                changes[allele_path(name, locus, allele)] = None
                continue
            was = previous.get(allele)
            rank = new_ranks.get(allele)
            if was is None or was.state != state.state or old_ranks.get(allele) != rank:
                changes[allele_path(name, locus, allele)] = blob(dump_allele(state.state, rank))
    stored = Stored(new, ranks, split=True)
    if old is not None:
        stored.ranks.update((locus, old.ranks[locus]) for locus in kept_ranks if locus in old.ranks)
        stored.rank_lists = {locus: old.rank_lists[locus] for locus in kept_ranks if locus in old.rank_lists and locus not in old.ranks}
    return edit_tree(repo, base, changes), stored


def recessives(locus_map: LocusMap) -> list[str]:
    """The stack after its dominant: the alleles that have a rank, in rank order."""
    return locus_map.stack[1:] if locus_map.dominant else list(locus_map.stack)


def _touched(before: Mapping[str, AlleleState], after: Mapping[str, AlleleState], old_ranks: Mapping[str, int], new_ranks: Mapping[str, int]) -> set[str]:
    """The alleles whose file may change: every one but the recessives that keep their rank.

    Found with set operations on the ids, so a registration at a locus of 1,000
    alleles looks at a handful of them, not at each in turn.
    """
    touched = {allele for allele, _ in new_ranks.items() ^ old_ranks.items()}
    touched |= after.keys() - new_ranks.keys()
    touched |= before.keys() - old_ranks.keys()
    return touched


def assign_ranks(order: list[str], old: Mapping[str, int]) -> dict[str, int]:
    """Ranks giving `order` in (rank, id) order, keeping every old rank that still fits.

    New alleles before, after or between kept ones take the free integers there,
    so registering, promoting and demoting rewrite only the alleles they move; an
    order the old ranks cannot express is renumbered 1..n.
    """
    fast = _kept_block(order, old)
    if fast is not None:
        return fast
    kept = [i for i, a in enumerate(order) if a in old]
    ranks: dict[str, int] = {}
    if kept:
        first = kept[0]
        for j in range(first):
            ranks[order[j]] = old[order[first]] - (first - j)
        for i, k in zip(kept, [*kept[1:], len(order)], strict=True):
            ranks[order[i]] = old[order[i]]
            for m, allele in enumerate(order[i + 1:k], 1):
                ranks[allele] = old[order[i]] + m
        keys = [(ranks[a], a) for a in order]
        if all(x < y for x, y in zip(keys, keys[1:], strict=False)):
            return ranks
    return {a: i for i, a in enumerate(order, 1)}


def _kept_block(order: list[str], old: Mapping[str, int]) -> dict[str, int] | None:
    """Ranks when `order` is old alleles in rising rank with new ones only before and after (None otherwise).

    What registering, promoting and demoting make: checked with list operations
    rather than a Python loop per allele.
    """
    values = list(map(old.get, order))
    try:
        first = next(i for i, v in enumerate(values) if v is not None)
    except StopIteration:
        return None
    last = len(values) - next(i for i, v in enumerate(reversed(values)) if v is not None)
    if None in values[first:last]:
        return None
    middle = cast("list[int]", values[first:last])
    if not all(map(operator.lt, middle, middle[1:])):
        return None
    ranks = dict(zip(order[first:last], middle, strict=True))
    low, high = middle[0], middle[-1]
    ranks.update((a, low - first + i) for i, a in enumerate(order[:first]))
    ranks.update((a, high + 1 + i) for i, a in enumerate(order[last:]))
    return ranks


# --- in a working tree (a checkout of a phenotype or promotion branch) ----------------


def read_files(head: Path) -> Stored:
    """The map of `phenotypes/<name>.toml` and, when present, the allele files beside it."""
    try:
        text = head.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SggitError(f"cannot read {head}: {exc}") from None
    data = _head_data(text, str(head))
    folder = head.with_suffix("")
    if not folder.is_dir():
        return Stored(validate(data, str(head)), {}, split=False)
    return assemble(data, _dir_files(folder), str(head))


def _dir_files(folder: Path) -> dict[str, dict[str, tuple[str, int | None]]]:
    files: dict[str, dict[str, tuple[str, int | None]]] = {}
    for path in sorted(folder.glob("*/*/*")):
        locus, fan, file = path.parts[-3:]
        allele = fan + file.removesuffix(".toml")
        if not file.endswith(".toml") or not _HEX.match(allele):
            raise SggitError(f"{path}: not an allele file", hint="allele files are <locus>/<id[:2]>/<id[2:]>.toml")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SggitError(f"cannot read {path}: {exc}") from None
        files.setdefault(locus, {})[allele] = parse_allele(text, str(path))
    return files


__all__ = ["AlleleState", "Stored", "allele_path", "assemble", "assign_ranks", "head_path", "read_files", "read_tree", "write_tree"]
