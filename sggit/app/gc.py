"""`sggit gc`: remove bloat from the genome tree, pack what git keeps loose.

The paradigm's purge (section 15): evolution leaves alleles nobody will express
again. An allele goes from the tree of `sggit/genome` when all of these hold:

- some phenotype deprecated it, and no phenotype expresses it any more (in no
  stack, not canary or shadow, not a fused pathway's allele);
- it is on no active allele's lineage path (an ancestor of something expressed
  stays, so `sggit lineage` and `why` keep telling the whole story);
- its lineage is older than the age limit.

Removal is one commit on the genome branch (compare-and-swap, rebuilt if the
branch moved), so the blobs stay in history and `git revert` brings them back.
Lineage notes and fitness notes are kept. Packing runs `git repack -d`, which is
what git's own auto-gc does for loose objects, and never prunes anything.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field

import pygit2

from sggit.errors import SggitError
from sggit.genome import phenostore
from sggit.genome.alleles import alleles_at, loci, migrate_genome, registered_path
from sggit.genome.lineage import Lineage, all_lineage
from sggit.genome.repo import GENOME_REF, Genome
from sggit.genome.trees import edit_tree
from sggit.runtime.temporal import parse_duration

DEFAULT_AGE = "14d"
ACTIVE_STATES = ("dominant", "recessive", "canary", "shadow")


@dataclass(frozen=True)
class Removable:
    locus: str
    allele: str
    age_days: float


@dataclass
class GcReport:
    removed: list[Removable] = field(default_factory=list)
    kept_young: int = 0
    kept_ancestors: int = 0
    commit: str | None = None
    dry_run: bool = False
    loose_before: int = 0
    loose_after: int = 0

    def lines(self) -> list[str]:
        verb = "would remove" if self.dry_run else "removed"
        out = [f"{verb} {r.locus} {r.allele[:12]} (deprecated, unexpressed, {r.age_days:.0f} days old)" for r in self.removed]
        out.append(f"{verb} {len(self.removed)} allele(s) from the genome tree"
                   + (f" in {self.commit[:12]}" if self.commit else "")
                   + f"; kept {self.kept_ancestors} ancestor(s) of active alleles and {self.kept_young} too young")
        if not self.dry_run:
            out.append(f"packed loose objects: {self.loose_before} -> {self.loose_after}")
        return out


def configured_age(genome: Genome, given: str | None) -> float:
    """Seconds: `--older-than`, else `git config sggit.gc.olderThan`, else 14 days."""
    if given is None:
        try:
            given = str(genome.repo.config["sggit.gc.olderThan"])
        except KeyError:
            given = DEFAULT_AGE
    return parse_duration(given)


def _usage(genome: Genome) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """((locus, allele) pairs some phenotype expresses, pairs some phenotype has deprecated)."""
    active: set[tuple[str, str]] = set()
    deprecated: set[tuple[str, str]] = set()
    for name in phenostore.phenotype_names(genome):
        pmap = phenostore.read_phenotype(genome, name)
        for locus, entry_ in pmap.loci.items():
            active.update((locus, a) for a in entry_.stack)
            for allele, state in entry_.alleles.items():
                (active if state.state in ACTIVE_STATES else deprecated).add((locus, allele))
        active.update((pathway, p.fused_allele) for pathway, p in pmap.pathways.items() if p.fused_allele)
    return active, deprecated


def _ancestors(active: set[str], lineage: dict[str, dict[str, Lineage]]) -> set[str]:
    """Blobs on an active blob's lineage path, at any locus (a fused pathway's parents fill other loci)."""
    seen: set[str] = set()
    todo = list(active)
    while todo:
        allele = todo.pop()
        for parent in (p for lin in lineage.get(allele, {}).values() for p in lin.parents):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def collect(genome: Genome, older_than: float, now: float | None = None) -> GcReport:
    """What gc would remove, and why the rest of the deprecated alleles stay."""
    now = time.time() if now is None else now
    active, deprecated = _usage(genome)
    lineage = all_lineage(genome)
    protected = _ancestors({a for _, a in active}, lineage)
    report = GcReport()
    for locus in loci(genome):
        for allele in alleles_at(genome, locus):
            if (locus, allele) not in deprecated or (locus, allele) in active:
                continue
            if allele in protected:
                report.kept_ancestors += 1
                continue
            note = lineage.get(allele, {}).get(locus)
            born = note.time if note is not None else now
            if now - born < older_than:
                report.kept_young += 1
                continue
            report.removed.append(Removable(locus, allele, (now - born) / 86400))
    return report


def loose_objects(genome: Genome) -> int:
    out = _git(genome, "count-objects", "-v")
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key == "count":
            return int(value)
    return 0


def pack(genome: Genome) -> None:
    """Pack loose objects (and drop the loose copies a pack now holds); nothing is pruned."""
    _git(genome, "repack", "-d", "-q")


def _git(genome: Genome, *args: str) -> str:
    done = subprocess.run(["git", "--git-dir", str(genome.git_dir), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SggitError(f"git {args[0]} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def gc(genome: Genome, *, older_than: float, dry_run: bool = False, now: float | None = None) -> GcReport:
    """Remove the collected alleles from the genome tree in one commit, then pack."""
    with genome.locked():
        report = collect(genome, older_than, now)
        report.dry_run = dry_run
        if dry_run:
            return report
        if report.removed:
            message = f"gc: remove {len(report.removed)} deprecated allele(s) expressed in no phenotype\n\nSggit-Action: gc\n"
            migrate_genome(genome)

            def build(tip: pygit2.Commit | None) -> tuple[pygit2.Oid, str] | None:
                base = tip.tree if tip is not None else None
                found = (registered_path(base, r.locus, r.allele) for r in report.removed)
                todo: dict[str, pygit2.Oid | None] = {p: None for p in found if p is not None}
                return (edit_tree(genome.repo, base, todo), message) if todo else None

            commit = genome.commit_to(GENOME_REF, build, reflog="gc")
            report.commit = str(commit) if commit is not None else None
    report.loose_before = loose_objects(genome)
    pack(genome)
    report.loose_after = loose_objects(genome)
    return report
