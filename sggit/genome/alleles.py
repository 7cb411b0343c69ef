"""Alleles as git blobs, kept reachable in `genome/<locus>/<id[:2]>/<id[2:]>.py` on branch sggit/genome.

Files are named by their content's id, so two genome trees (two hosts, two clones)
always merge without a conflict: the same name always means the same bytes. The
two-hex-digit folder (as git notes and the phenotype files use) keeps every tree a
registration rewrites at most 256 entries wide, however many alleles a locus holds.

Genomes made before kept one flat folder per locus (`genome/<locus>/<id>.py`).
That layout still reads, alone or mixed with the fanout (a merge with a host that
has not moved yet); a writer moves every flat file into its folder, in a commit
of its own, before its first change to a locus that holds one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pygit2

from sggit.errors import SggitError, UsageError
from sggit.genome.lineage import Lineage, add_lineage, read_lineages
from sggit.genome.repo import GENOME_REF, LINEAGE_REF, Genome
from sggit.genome.trees import edit_tree, entry

GENOME_DIR = "genome"
MIN_PREFIX = 7
_LOCUS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class NewAllele:
    locus: str
    source: bytes
    lineage: Lineage


@dataclass(frozen=True)
class Registered:
    id: str
    locus: str
    new: bool


def allele_path(locus: str, allele: str) -> str:
    return f"{GENOME_DIR}/{locus}/{allele[:2]}/{allele[2:]}.py"


def _flat_path(locus: str, allele: str) -> str:
    return f"{GENOME_DIR}/{locus}/{allele}.py"


def registered_path(tree: pygit2.Tree | None, locus: str, allele: str) -> str | None:
    """Where the allele's file is in a genome tree, in either layout; None when it is not registered there."""
    for path in (allele_path(locus, allele), _flat_path(locus, allele)):
        if entry(tree, path) is not None:
            return path
    return None


def _locus_tree(genome: Genome, locus: str) -> pygit2.Tree | None:
    sub = entry(genome.tip_tree(GENOME_REF), f"{GENOME_DIR}/{locus}")
    return sub if isinstance(sub, pygit2.Tree) else None


def _ids(folder: pygit2.Tree) -> set[str]:
    """The alleles in a locus folder, in either layout, each once; names that are no allele file are skipped."""
    found: set[str] = set()
    for item in folder:
        name = item.name or ""
        if isinstance(item, pygit2.Tree):
            if len(name) == 2 and _HEX.match(name):
                found.update(name + rest[:-3] for rest in (leaf.name or "" for leaf in item) if rest.endswith(".py"))
        elif _is_flat(name):
            found.add(name[:-3])
    return found


def _is_flat(name: str) -> bool:
    return name.endswith(".py") and _HEX.match(name[:-3]) is not None


def _has_flat(folder: pygit2.Object | None) -> bool:
    """Whether a locus folder still holds a file of the flat layout: one pass over at most 256 names once moved."""
    return isinstance(folder, pygit2.Tree) and any(not isinstance(item, pygit2.Tree) and _is_flat(item.name or "") for item in folder)


def fanout_tree(repo: pygit2.Repository, tree: pygit2.Tree, loci: Iterable[str] | None = None) -> pygit2.Oid | None:
    """`tree` with every flat allele file moved into its two-hex-digit folder; None if `loci` (default: all) hold none.

    Only the named loci are looked at to decide, so a writer pays for the loci it
    touches; once it decides, every locus moves, in one commit. A file keeps its
    blob: its name already is its id.
    """
    top = entry(tree, GENOME_DIR)
    if not isinstance(top, pygit2.Tree):
        return None
    names = [item.name or "" for item in top if isinstance(item, pygit2.Tree)] if loci is None else list(loci)
    if not any(_has_flat(entry(top, locus)) for locus in names):
        return None
    changes: dict[str, pygit2.Oid | None] = {}
    for folder in top:
        if not isinstance(folder, pygit2.Tree) or not _has_flat(folder):
            continue
        for item in folder:
            name = item.name or ""
            if not isinstance(item, pygit2.Tree) and _is_flat(name):
                changes[f"{GENOME_DIR}/{folder.name}/{name}"] = None
                changes[allele_path(folder.name or "", name[:-3])] = item.id
    return edit_tree(repo, tree, changes)


def migrate_genome(genome: Genome, loci: Iterable[str] | None = None) -> str | None:
    """Move the genome branch to the fanout layout, as a commit of its own; None when `loci` (default: all) are in it."""
    message = (
        "genome: keep each allele file under the first two hex digits of its id\n\n"
        "No allele is added or removed: genome/<locus>/<id>.py moves to genome/<locus>/<id[:2]>/<id[2:]>.py.\n\n"
        "Sggit-Action: migrate\n"
    )
    wanted = None if loci is None else sorted(set(loci))
    oid = genome.migrate(GENOME_REF, lambda tip: fanout_tree(genome.repo, tip.tree, wanted), message, reflog="genome migrate")
    return None if oid is None else str(oid)


def check_locus_name(locus: str) -> str:
    if not _LOCUS.match(locus):
        raise UsageError(f"invalid locus name {locus!r}", hint="a locus is a gene name: letters, digits and _")
    return locus


def allele_id(source: bytes | str) -> str:
    """The id an allele would get: its blob id, computed without writing anything."""
    data = source.encode() if isinstance(source, str) else source
    return str(pygit2.hash(data))


def register_alleles(genome: Genome, alleles: Iterable[NewAllele], message: str | None = None) -> list[Registered]:
    """Register many alleles in two commits: their lineage notes, then their genome tree entries.

    Notes go first so that every allele in the tree has its note even if the
    process dies in between; registering again completes a half-done batch.
    A (locus, allele) pair already registered keeps its first lineage (the store is append-only);
    the same source at another locus gets its own.
    """
    items = list(alleles)
    for item in items:
        check_locus_name(item.locus)
        if item.lineage.locus != item.locus:
            raise UsageError(f"lineage says locus {item.lineage.locus}, allele is registered at {item.locus}")
    repo = genome.repo
    with genome.locked():
        ids = [str(repo.create_blob(item.source)) for item in items]
        pairs = [(allele, item.lineage) for allele, item in zip(ids, items, strict=False)]
        add_lineage(genome, pairs, message)

        tree = genome.tip_tree(GENOME_REF)
        results: list[Registered] = []
        wanted: dict[tuple[str, str], pygit2.Oid] = {}
        for allele, item in zip(ids, items, strict=False):
            key = (item.locus, allele)
            new = key not in wanted and registered_path(tree, item.locus, allele) is None
            if new:
                wanted[key] = pygit2.Oid(hex=allele)
            results.append(Registered(allele, item.locus, new))
        if wanted:
            loci = sorted({locus for locus, _ in wanted})
            summary = message or f"register {len(wanted)} allele(s) at {', '.join(loci[:5])}{' ...' if len(loci) > 5 else ''}"
            migrate_genome(genome, loci)

            def build(tip: pygit2.Commit | None) -> tuple[pygit2.Oid, str] | None:
                base = tip.tree if tip is not None else None
                todo = {allele_path(*key): oid for key, oid in wanted.items() if registered_path(base, *key) is None}
                if not todo:
                    return None
                return edit_tree(repo, base, todo), summary

            genome.commit_to(GENOME_REF, build, reflog="register")
        return results


def register_allele(genome: Genome, locus: str, source: bytes | str, lineage: Lineage) -> Registered:
    data = source.encode() if isinstance(source, str) else source
    return register_alleles(genome, [NewAllele(locus, data, lineage)])[0]


def loci(genome: Genome) -> list[str]:
    tree = genome.tip_tree(GENOME_REF)
    sub = entry(tree, GENOME_DIR)
    if not isinstance(sub, pygit2.Tree):
        return []
    return sorted(item.name for item in sub if item.type_str == "tree" and item.name)


def alleles_at(genome: Genome, locus: str) -> list[str]:
    """The locus's alleles, each once: after a merge with a host not moved yet, one may be in both layouts."""
    sub = _locus_tree(genome, locus)
    return [] if sub is None else sorted(_ids(sub))


def allele_count(genome: Genome, locus: str) -> int:
    """How many alleles a locus holds; in the fanout layout, the sizes of its at most 256 folders."""
    sub = _locus_tree(genome, locus)
    if sub is None:
        return 0
    if _has_flat(sub):
        return len(_ids(sub))
    return sum(len(item) for item in sub if isinstance(item, pygit2.Tree))


def locus_of(genome: Genome, allele: str) -> str | None:
    """A locus an allele is registered at, through its lineage note, checked against the tree."""
    lineages = read_lineages(genome, allele)
    tree = genome.tip_tree(GENOME_REF)
    for locus in sorted(lineages):
        if registered_path(tree, locus, allele) is not None:
            return locus
    for locus in loci(genome):
        if registered_path(tree, locus, allele) is not None:
            return locus
    return None


def loci_of(genome: Genome, allele: str) -> list[str]:
    """Every locus the blob is registered at: one source can fill several loci."""
    tree = genome.tip_tree(GENOME_REF)
    return [locus for locus in loci(genome) if registered_path(tree, locus, allele) is not None]


def resolve_allele(genome: Genome, text: str) -> str:
    """Full id of a registered allele from its id or a unique prefix of at least 7 hex digits."""
    prefix = text.strip().lower()
    if len(prefix) < MIN_PREFIX or not _HEX.match(prefix):
        raise UsageError(f"{text!r} is not an allele id", hint=f"give the id or a prefix of at least {MIN_PREFIX} hex digits")
    matches = _candidates(genome, prefix)
    if not matches:
        raise UsageError(f"no registered allele matches {prefix}", hint="`sggit status` shows each locus's dominant; `sggit lineage LOCUS` every allele of a locus")
    if len(matches) > 1:
        shown = ", ".join(m[:12] for m in sorted(matches)[:5])
        raise UsageError(f"allele prefix {prefix} is ambiguous ({shown})", hint="give more digits")
    return matches[0]


def _candidates(genome: Genome, prefix: str) -> list[str]:
    """Matching ids found through the lineage notes' fanout directory, so only 1/256 of them is scanned."""
    found: set[str] = set()
    notes = genome.tip_tree(LINEAGE_REF)
    if notes is not None:
        shard = entry(notes, prefix[:2])
        if isinstance(shard, pygit2.Tree):
            found.update(prefix[:2] + (i.name or "") for i in shard if (prefix[:2] + (i.name or "")).startswith(prefix))
        found.update(i.name for i in notes if i.name and len(i.name) > 2 and i.name.startswith(prefix))
    registered = [a for a in found if locus_of(genome, a) is not None]
    if registered:
        return registered
    return [a for locus in loci(genome) for a in alleles_at(genome, locus) if a.startswith(prefix)]


def allele_source(genome: Genome, allele: str) -> bytes:
    try:
        obj = genome.repo[allele]
    except (KeyError, ValueError):
        raise SggitError(f"allele {allele[:12]} is not in this repository") from None
    if not isinstance(obj, pygit2.Blob):
        raise SggitError(f"{allele[:12]} is not an allele (not a blob)")
    return obj.data
