"""Joining a fleet and settling with it: a clone's first step, conflicting phenotype changes, late seeds.

A fresh clone of a fleet repository has the contracts and seeds in its working
tree but none of the genome's refs (clone does not fetch notes, and the fleet's
branches are only remote-tracking). Starting a genome there would make a second,
unrelated one that every later pull conflicts with; the clone must pull first.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Literal

import pygit2
from pydantic import BaseModel, ValidationError

from sggit.errors import SggitError, UsageError
from sggit.genome import phenostore
from sggit.genome.alleles import allele_id, alleles_at
from sggit.genome.fleet import SyncReport, merge_maps, mirror_prefix, pull
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import GENOME_REF, PHENOTYPE_REF_PREFIX, Genome
from sggit.project import GENOME_DIR

Side = Literal["ours", "theirs"]
# The sections of a phenotype map that fleet.merge_maps merges key by key.
SECTIONS = ("bindings", "settings", "loci", "pathways")


def _remotes(genome: Genome) -> list[str]:
    names = [name for name in genome.repo.remotes.names() if name is not None]
    return sorted(names, key=lambda n: (n != "origin", n))


def tracked_fleet_remote(genome: Genome) -> str | None:
    """A remote this clone already knows holds a genome (its tracking refs), without touching the network."""
    for name in _remotes(genome):
        if genome.target(f"refs/remotes/{name}/sggit/genome") is not None or genome.target(mirror_prefix(name) + "heads/sggit/genome") is not None:
            return name
    return None


def fleet_remote(genome: Genome) -> str | None:
    """A remote that holds a genome: known from tracking refs, else asked (`git ls-remote`)."""
    known = tracked_fleet_remote(genome)
    if known is not None:
        return known
    for name in _remotes(genome):
        try:
            done = subprocess.run(["git", "--git-dir", str(genome.git_dir), "ls-remote", name, GENOME_REF], capture_output=True, text=True,
                                  env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}, timeout=60)
        except subprocess.TimeoutExpired:
            continue  # an unreachable remote is not a fleet we can join now
        if done.returncode == 0 and done.stdout.strip():
            return name
    return None


def join_fleet(genome: Genome) -> SyncReport | None:
    """Pull the fleet's genome into a clone that has none yet; None when there is nothing to join."""
    if genome.target(GENOME_REF) is not None:
        return None
    remote = fleet_remote(genome)
    return pull(genome, remote) if remote is not None else None


def unregistered_seeds(root: Path, genome: Genome) -> dict[str, list[str]]:
    """Seed files under genome/<locus>/ whose content is not a registered allele, by locus."""
    out: dict[str, list[str]] = {}
    base = root / GENOME_DIR
    if not base.is_dir():
        return out
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        known = set(alleles_at(genome, folder.name))
        for path in sorted(folder.glob("*.py")):
            if allele_id(path.read_bytes()) not in known:
                out.setdefault(folder.name, []).append(str(path.relative_to(root)))
    return out


class Resolution(BaseModel):
    phenotype: str
    remote: str
    commit: str
    chosen: dict[str, Side]


def conflicts(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> list[tuple[str, str]]:
    """(section, key) both sides changed differently: what a merge cannot settle alone."""
    found = []
    for section in SECTIONS:
        b, o, t = base.get(section, {}), ours.get(section, {}), theirs.get(section, {})
        for key in sorted(set(b) | set(o) | set(t)):
            bv, ov, tv = b.get(key), o.get(key), t.get(key)
            if ov != tv and ov != bv and tv != bv:
                found.append((section, key))
    return found


def resolve(genome: Genome, phenotype: str, prefer: Side, keys: list[str] | None = None, remote: str = "origin") -> Resolution:
    """Settle a diverged phenotype branch as a merge commit, taking `prefer`'s side where both changed.

    `keys` limits the choice to those loci (or pathways, bindings); every other
    conflicting key must then be named too, so nothing is decided silently. The
    result has both tips as parents, so `sggit push` fast-forwards the remote.
    """
    ref = phenostore.phenotype_ref(phenotype)
    ours = genome.target(ref)
    theirs = genome.target(mirror_prefix(remote) + ref[len("refs/"):])
    if ours is None:
        raise UsageError(f"no phenotype {phenotype} here")
    if theirs is None:
        raise UsageError(f"{remote} has no phenotype/{phenotype} fetched", hint=f"run `sggit pull {remote}` first")
    repo = genome.repo
    if ours == theirs or repo.descendant_of(ours, theirs) or repo.descendant_of(theirs, ours):
        raise UsageError(f"phenotype/{phenotype} is not in conflict with {remote}", hint=f"`sggit pull {remote}` fast-forwards it")
    base_oid = repo.merge_base(ours, theirs)
    if base_oid is None:
        raise SggitError(f"phenotype/{phenotype} here and on {remote} share no history", hint="this clone started its own genome; re-clone and run `sggit pull` before `sggit init`")
    base, mine, other = (phenostore.map_data_at(genome, oid, phenotype) for oid in (base_oid, ours, theirs))
    found = conflicts(base, mine, other)
    wanted = set(keys or [])
    unknown = wanted - {k for _, k in found}
    if unknown:
        raise UsageError(f"not in conflict: {', '.join(sorted(unknown))}", hint=f"in conflict: {', '.join(k for _, k in found) or 'nothing'}")
    left = [k for _, k in found if wanted and k not in wanted]
    if left:
        raise UsageError(f"still in conflict: {', '.join(left)}", hint="name every conflicting locus, or none to take one side for all")
    chosen: dict[str, Side] = {}
    for section, key in found:
        value = (mine if prefer == "ours" else other).get(section, {}).get(key)
        for side in (mine, other):
            if value is None:
                side.get(section, {}).pop(key, None)
            else:
                side.setdefault(section, {})[key] = value
        chosen[key] = prefer
    merged = merge_maps(base, mine, other)
    if merged is None:
        raise SggitError(f"phenotype/{phenotype} still does not merge")
    try:
        pmap = PhenotypeMap.model_validate(merged)
    except ValidationError as exc:
        raise SggitError(f"the resolved phenotype/{phenotype} is not a valid map: {exc.errors()[0]['msg']}") from None
    tip = repo[ours].peel(pygit2.Commit)
    tree = phenostore.tree_with(genome, tip, phenotype, pmap)
    sides = ", ".join(f"{k} from {'here' if s == 'ours' else remote}" for k, s in chosen.items())
    message = phenostore.compose_message(
        f"resolve phenotype {phenotype} with {remote}: {sides}",
        {"Sggit-Action": "resolve", "Sggit-Resolved": ", ".join(f"{k}={s}" for k, s in chosen.items())},
    )
    sig = genome.signature()
    commit = repo.create_commit(None, sig, sig, message, tree, [ours, theirs])
    if not genome.compare_and_swap(ref, commit, ours, f"phenotype resolve with {remote}"):
        raise SggitError(f"phenotype/{phenotype} moved during the resolution; run it again")
    return Resolution(phenotype=phenotype, remote=remote, commit=str(commit), chosen=chosen)


def phenotype_of(ref: str) -> str | None:
    return ref[len(PHENOTYPE_REF_PREFIX):] if ref.startswith(PHENOTYPE_REF_PREFIX) else None
