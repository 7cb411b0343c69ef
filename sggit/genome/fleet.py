"""Fleet sync: moving the genome between hosts through any git remote, never overwriting anyone.

Everything is fetched first into a private mirror of the remote
(`refs/sggit/remotes/<remote>/...`), then integrated locally ref by ref:

- the genome branch and the lineage notes are merged as trees. Files there are
  named by content id, so the union of two trees has no conflicts; a lineage
  note both sides wrote for one allele holds every locus either side registered
  it at, ours where both did (the store is append-only).
- fitness notes and mutation branches are per host: another host's ref only
  ever fast-forwards here, and only our own host's ref is pushed.
- phenotype branches fast-forward in whichever direction they can; when both
  sides changed one, that is a conflict reported to the user and left alone.

Pushes use plain (non `+`) refspecs, so the remote refuses anything that is not
a fast-forward; a push raced by another host is retried after a new pull, with
exponential backoff and full jitter so that a crowd of hosts spreads out instead
of colliding again. Since the shared refs always merge, a retried push always
converges; only a real phenotype conflict is ever left to a person.

A host whose push of a shared ref lost a race also leaves what it wanted to push
in an outbox of its own on the remote (`refs/heads/sggit/outbox/<host>/...`, the
one ref pushed with `+`: no other host writes it), and every host that
integrates merges the outboxes it finds. So the next push to win
carries every loser's alleles, not only its own: a crowd converges in a few
rounds instead of one win per host. Its owner deletes an outbox once the shared
ref holds it.
"""

from __future__ import annotations

import random
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pygit2
from pydantic import BaseModel, Field, ValidationError

from sggit.errors import SggitError
from sggit.genome.gitproc import git_reason, require_remote, run_git
from sggit.genome.lineage import merge_lineage_notes
from sggit.genome.mutations import MUTATIONS_BRANCH
from sggit.genome.repo import FITNESS_REF_PREFIX, GENOME_REF, LINEAGE_REF, PHENOTYPE_REF_PREFIX, Genome, pack_refs
from sggit.genome.sync import fitness_ref, sync

MIRROR_ROOT = "refs/sggit/remotes/"
PUSH_DEADLINE = 600.0
_BACKOFF_FIRST = 0.05
_BACKOFF_CAP = 2.0

# Remote namespace -> our namespace; each is mirrored whole under refs/sggit/remotes/<remote>/.
_NAMESPACES = ("refs/heads/sggit/", "refs/notes/sggit/", PHENOTYPE_REF_PREFIX)

RefKind = Literal["genome", "lineage", "fitness", "mutations", "phenotype"]


class Conflict(BaseModel):
    """Both sides changed a ref that cannot be merged automatically; nothing was overwritten."""

    ref: str
    kind: RefKind
    local: str
    remote: str
    hint: str


class RefChange(BaseModel):
    ref: str
    kind: RefKind
    action: Literal["created", "fast-forward", "merged", "pushed"]
    old: str | None = None
    new: str


class SyncReport(BaseModel):
    remote: str
    fetched: list[RefChange] = Field(default_factory=list)
    pushed: list[RefChange] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.rejected


class FleetError(SggitError):
    """The remote could not be reached or refused us for a reason other than a race."""


def mirror_prefix(remote: str) -> str:
    """Private mirror namespace of one remote; a path or URL becomes a safe ref component."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", remote).strip("._") or "remote"
    return f"{MIRROR_ROOT}{safe}/"


def _git(genome: Genome, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return run_git(genome.git_dir, args)
    except OSError as exc:
        raise FleetError(f"cannot run git: {exc.strerror or exc}", hint="sggit push and pull need the git binary on PATH") from None


def fetch(genome: Genome, remote: str) -> str:
    """Mirror the remote's sggit namespaces; returns the mirror prefix."""
    prefix = mirror_prefix(remote)
    specs = [f"+{ns}*:{prefix}{ns[len('refs/'):]}*" for ns in _NAMESPACES]
    done = _git(genome, "fetch", "--no-tags", "--prune", "--quiet", remote, *specs)
    if done.returncode != 0:
        raise FleetError(f"cannot fetch from {remote}: {git_reason(done.stderr)}", hint="check `git remote -v` and that the remote is reachable")
    return prefix


OUTBOX_PREFIX = "refs/heads/sggit/outbox/"


def outbox_ref(host: str, ref: str) -> str:
    """Where `host` leaves its value of the shared `ref` after a push of it lost a race."""
    return f"{OUTBOX_PREFIX}{host}/{ref[len('refs/'):]}"


def _outbox_target(ref: str) -> tuple[str, str] | None:
    """(host, shared ref) of an outbox ref, or None when it is none or names no shared ref."""
    if not ref.startswith(OUTBOX_PREFIX):
        return None
    host, _, rest = ref[len(OUTBOX_PREFIX):].partition("/")
    shared = "refs/" + rest
    if not host or not _shared(shared):
        return None
    return host, shared


def _shared(ref: str) -> bool:
    """Refs every host writes, so that pushes of them race."""
    return ref in (GENOME_REF, LINEAGE_REF) or (ref.startswith(PHENOTYPE_REF_PREFIX) and len(ref) > len(PHENOTYPE_REF_PREFIX))


def _kind(ref: str, host: str) -> RefKind | None:
    if ref == GENOME_REF:
        return "genome"
    if ref == LINEAGE_REF:
        return "lineage"
    if ref.startswith(FITNESS_REF_PREFIX):
        return "fitness"
    if ref.startswith(MUTATIONS_BRANCH):
        return "mutations"
    if ref.startswith(PHENOTYPE_REF_PREFIX):
        return "phenotype"
    return None


BlobMerge = Callable[[bytes, bytes], bytes | None]


def union_tree(repo: pygit2.Repository, ours: pygit2.Tree, theirs: pygit2.Tree, merge: BlobMerge | None = None) -> pygit2.Oid:
    """Every entry of both trees; where a name holds different blobs, `merge(ours, theirs)`, else ours, is kept."""
    if ours.id == theirs.id:
        return ours.id
    builder = repo.TreeBuilder(ours)
    for item in theirs:
        name = item.name or ""
        mine = ours[name] if name in ours else None
        if mine is None:
            builder.insert(name, item.id, item.filemode)
        elif mine.id != item.id and isinstance(mine, pygit2.Tree) and isinstance(item, pygit2.Tree):
            builder.insert(name, union_tree(repo, mine, item, merge), pygit2.enums.FileMode.TREE)
        elif mine.id != item.id and merge is not None and isinstance(mine, pygit2.Blob) and isinstance(item, pygit2.Blob):
            joined = merge(mine.data, item.data)
            if joined is not None:
                builder.insert(name, repo.create_blob(joined), mine.filemode)
    return builder.write()


@dataclass
class Memo:
    """What one push learnt across its rounds: a commit's content never changes.

    Our refs only ever gain content (a merge is a union, and ours takes the
    remote's ref only when that holds all of ours), so an outbox value merged
    in one round needs no second look in the next.
    """

    merged: set[tuple[str, pygit2.Oid]] = field(default_factory=set)
    maps: dict[tuple[pygit2.Oid, str], dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Integrator:
    genome: Genome
    report: SyncReport
    host: str
    memo: Memo = field(default_factory=Memo)
    blocked: set[str] = field(default_factory=set)

    @property
    def repo(self) -> pygit2.Repository:
        return self.genome.repo

    def _set(self, ref: str, kind: RefKind, new: pygit2.Oid, old: pygit2.Oid | None, action: str) -> bool:
        if not self.genome.compare_and_swap(ref, new, old, f"sggit pull: {action}"):
            return False
        self.report.fetched.append(RefChange(ref=ref, kind=kind, action=action, old=None if old is None else str(old), new=str(new)))  # type: ignore[arg-type]
        return True

    def fast_forward(self, ref: str, kind: RefKind, theirs: pygit2.Oid) -> None:
        """Take theirs when it contains ours; keep ours when ours contains theirs; else a conflict."""
        for _ in range(10):
            ours = self.genome.target(ref)
            if self._contained(ref, kind, ours, theirs):
                return
            if ours is not None and ours == self.genome.target(ref):
                self.conflict(ref, kind, ours, theirs)
                return
        raise SggitError(f"{ref} kept changing while it was being updated")

    def conflict(self, ref: str, kind: RefKind, ours: pygit2.Oid, theirs: pygit2.Oid) -> None:
        self.blocked.add(ref)
        short = ref.removeprefix("refs/heads/").removeprefix("refs/notes/")
        mirror = mirror_prefix(self.report.remote) + ref[len("refs/"):]
        hint = (
            f"both sides changed {short}; nothing was overwritten. Inspect with `git log {short}...{mirror}`,"
            f" then merge one into the other (or revert one side) and sync again"
        )
        self.report.conflicts.append(Conflict(ref=ref, kind=kind, local=str(ours), remote=str(theirs), hint=hint))

    def _contained(self, ref: str, kind: RefKind, ours: pygit2.Oid | None, theirs: pygit2.Oid) -> bool:
        """Settle `ref` when one side holds the other: True when nothing is left to merge."""
        if ours == theirs:
            return True
        if ours is None:
            return self._set(ref, kind, theirs, None, "created")
        if self.repo.descendant_of(ours, theirs):
            return True
        if self.repo.descendant_of(theirs, ours):
            return self._set(ref, kind, theirs, ours, "fast-forward")
        return False

    def merge_phenotype(self, ref: str, theirs: pygit2.Oid) -> None:
        """Fast-forward when possible; diverged maps merge per locus, or are reported as a conflict."""
        for _ in range(10):
            ours = self.genome.target(ref)
            if self._contained(ref, "phenotype", ours, theirs):
                return
            if ours is None:
                continue
            tree = _merged_phenotype_tree(self.genome, ref, ours, theirs, self.memo)
            if tree is None:
                self.conflict(ref, "phenotype", ours, theirs)
                return
            if self._settle(ref, "phenotype", ours, theirs, tree):
                return
        raise SggitError(f"{ref} kept changing while it was being merged")

    def merge(self, ref: str, kind: RefKind, theirs: pygit2.Oid) -> None:
        """Trees named by content: merge commits whose tree is the union of both sides."""
        for _ in range(10):
            ours = self.genome.target(ref)
            if self._contained(ref, kind, ours, theirs):
                return
            if ours is None:
                continue
            mine = self.repo[ours].peel(pygit2.Commit)
            other = self.repo[theirs].peel(pygit2.Commit)
            tree = union_tree(self.repo, mine.tree, other.tree, merge_lineage_notes if kind == "lineage" else None)
            if self._settle(ref, kind, ours, theirs, tree):
                return
        raise SggitError(f"{ref} kept changing while it was being merged")

    def _settle(self, ref: str, kind: RefKind, ours: pygit2.Oid, theirs: pygit2.Oid, tree: pygit2.Oid) -> bool:
        """Point `ref` at the merge of ours and the remote's; False when it moved meanwhile.

        When the remote's ref already holds all of ours, ours takes it rather
        than a merge commit of its own: every host that merged the same
        outboxes would otherwise hold a commit the remote lacks.
        """
        if tree == self.repo[theirs].peel(pygit2.Commit).tree_id:
            return self._set(ref, kind, theirs, ours, "merged")
        return self._commit(ref, kind, ours, [theirs], tree, f"from {self.report.remote}")

    def _commit(self, ref: str, kind: RefKind, ours: pygit2.Oid, others: list[pygit2.Oid], tree: pygit2.Oid, source: str) -> bool:
        sig = self.genome.signature()
        if kind == "phenotype":
            message = _phenotype_merge_message(f"merge phenotype {ref[len(PHENOTYPE_REF_PREFIX):]} {source}")
        else:
            message = f"sggit: merge {kind} {source}\n"
        commit = self.repo.create_commit(None, sig, sig, message, tree, [ours, *others])
        return self._set(ref, kind, commit, ours, "merged")

    def fold_outboxes(self, ref: str, boxes: list[tuple[str, pygit2.Oid]]) -> None:
        """Merge other hosts' outboxes for `ref` into one commit, one parent per outbox that adds something.

        A clash with an outbox leaves it out and reports nothing: it is its
        owner's to report, when its owner integrates.
        """
        kind: RefKind = "phenotype" if ref.startswith(PHENOTYPE_REF_PREFIX) else ("genome" if ref == GENOME_REF else "lineage")
        for _ in range(10):
            ours = self.genome.target(ref)
            if ours is None:
                if self._set(ref, kind, boxes[0][1], None, "created"):
                    boxes = boxes[1:]
                    if not boxes:
                        return
                continue
            base = self.repo[ours].peel(pygit2.Commit)
            folded = self._fold_maps(ref, ours, boxes) if kind == "phenotype" else self._fold_trees(base.tree, boxes, kind)
            if folded is None:
                return
            tree, added = folded
            hosts = ", ".join(host for host, _ in added)
            if self._commit(ref, kind, ours, [oid for _, oid in added], tree, f"from the outboxes of {hosts} on {self.report.remote}"):
                return
        raise SggitError(f"{ref} kept changing while it was being merged")

    def _fold_trees(self, tree: pygit2.Tree, boxes: list[tuple[str, pygit2.Oid]], kind: RefKind) -> tuple[pygit2.Oid, list[tuple[str, pygit2.Oid]]] | None:
        acc = tree.id
        added = []
        for host, oid in boxes:
            union = union_tree(self.repo, self.repo[acc].peel(pygit2.Tree), self.repo[oid].peel(pygit2.Commit).tree,
                               merge_lineage_notes if kind == "lineage" else None)
            if union != acc:
                acc = union
                added.append((host, oid))
        return (acc, added) if added else None

    def _fold_maps(self, ref: str, ours: pygit2.Oid, boxes: list[tuple[str, pygit2.Oid]]) -> tuple[pygit2.Oid, list[tuple[str, pygit2.Oid]]] | None:
        from sggit.genome.phenostore import tree_with
        from sggit.genome.phenotype import PhenotypeMap

        name = ref[len(PHENOTYPE_REF_PREFIX):]
        # An outbox ours already descends from (one its owner has not cleared yet) costs no map reads.
        boxes = [(host, oid) for host, oid in boxes if oid != ours and not self.repo.descendant_of(ours, oid)]
        if not boxes:
            return None
        try:
            acc = _map(self.genome, ours, name, self.memo)
        except SggitError:
            return None
        added = []
        for host, oid in boxes:
            base = self.repo.merge_base(ours, oid)
            try:
                merged = None if base is None else merge_maps(_map(self.genome, base, name, self.memo), acc, _map(self.genome, oid, name, self.memo))
            except SggitError:
                continue
            if merged is not None and merged != acc:
                acc = merged
                added.append((host, oid))
        if not added:
            return None
        try:
            pmap = PhenotypeMap.model_validate(acc)
        except ValidationError:
            return None
        return tree_with(self.genome, self.repo[ours].peel(pygit2.Commit), name, pmap), added


_SECTIONS = ("bindings", "settings", "loci", "pathways")
_MISSING = object()
_CONFLICT = object()


def merge_maps(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any] | None:
    """Three-way merge of two phenotype maps, one binding, setting, pathway or locus at a time.

    A key only one side changed takes that side; a key both changed the same
    way is kept; a key both changed differently is a conflict (None). Inside a
    locus, alleles merge one by one, so two hosts adding different alleles to
    one stack is a union; choosing different dominants is the conflict.
    """
    merged: dict[str, Any] = {}
    for top in sorted(set(base) | set(ours) | set(theirs)):
        if top in _SECTIONS:
            b, o, t = base.get(top, {}), ours.get(top, {}), theirs.get(top, {})
            section: dict[str, Any] = {}
            for key in sorted(set(b) | set(o) | set(t)):
                bv, ov, tv = b.get(key, _MISSING), o.get(key, _MISSING), t.get(key, _MISSING)
                value = _pick(bv, ov, tv)
                if value is _CONFLICT and top == "loci" and isinstance(ov, dict) and isinstance(tv, dict):
                    value = merge_locus(bv if isinstance(bv, dict) else {}, ov, tv)
                if value is _CONFLICT:
                    return None
                if value is not _MISSING:
                    section[key] = value
            merged[top] = section
        else:
            value = _pick(base.get(top, _MISSING), ours.get(top, _MISSING), theirs.get(top, _MISSING))
            if value is _CONFLICT:
                return None
            if value is not _MISSING:
                merged[top] = value
    return merged


def merge_locus(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> Any:
    """One locus changed on both sides: dominant and weights three-way, alleles one by one, stacks unioned."""
    out: dict[str, Any] = {}
    for key in ("dominant", "weights"):
        value = _pick(base.get(key, _MISSING), ours.get(key, _MISSING), theirs.get(key, _MISSING))
        if value is _CONFLICT:
            return _CONFLICT
        if value is not _MISSING:
            out[key] = value
    b, o, t = base.get("alleles", {}), ours.get("alleles", {}), theirs.get("alleles", {})
    alleles: dict[str, Any] = {}
    for allele in sorted(set(b) | set(o) | set(t)):
        value = _pick(b.get(allele, _MISSING), o.get(allele, _MISSING), t.get(allele, _MISSING))
        if value is _CONFLICT:
            return _CONFLICT
        if value is not _MISSING:
            alleles[allele] = value
    members = {a for a, s in alleles.items() if isinstance(s, dict) and s.get("state") in ("dominant", "recessive")}
    base_stack, our_stack, their_stack = base.get("stack", []), ours.get("stack", []), theirs.get("stack", [])
    # The side that reordered the fallbacks both knew leads; the other side's additions follow.
    first, second = our_stack, their_stack
    if _order(our_stack, base_stack) == _order(base_stack, our_stack) and _order(their_stack, base_stack) != _order(base_stack, their_stack):
        first, second = their_stack, our_stack
    stack: list[str] = []
    for allele in [*first, *second, *sorted(members)]:
        if allele in members and allele not in stack:
            stack.append(allele)
    dominant = out.get("dominant")
    if dominant is not None:
        if dominant not in members:
            return _CONFLICT
        stack.remove(dominant)
        stack.insert(0, dominant)
    out["stack"] = stack
    out["alleles"] = alleles
    return out


def _order(stack: list[str], other: list[str]) -> list[str]:
    """`stack` restricted to the alleles `other` also has, in `stack`'s order."""
    keep = set(other)
    return [a for a in stack if a in keep]


def _pick(base: Any, ours: Any, theirs: Any) -> Any:
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    return _CONFLICT


def _map(genome: Genome, commit: pygit2.Oid, name: str, memo: Memo) -> dict[str, Any]:
    """Phenotype `name` as of `commit`, read once per push: a commit's content never changes."""
    from sggit.genome.phenostore import map_data_at

    key = (commit, name)
    if key not in memo.maps:
        memo.maps[key] = map_data_at(genome, commit, name)
    return memo.maps[key]


def _merged_phenotype_tree(genome: Genome, ref: str, ours: pygit2.Oid, theirs: pygit2.Oid, memo: Memo) -> pygit2.Oid | None:
    """The tree of two diverged phenotype branches merged, or None when they touch the same locus."""
    from sggit.genome.phenostore import tree_with
    from sggit.genome.phenotype import PhenotypeMap

    repo = genome.repo
    name = ref[len(PHENOTYPE_REF_PREFIX):]
    base_oid = repo.merge_base(ours, theirs)
    if base_oid is None:
        return None
    try:
        merged = merge_maps(*(_map(genome, oid, name, memo) for oid in (base_oid, ours, theirs)))
    except SggitError:
        return None
    if merged is None:
        return None
    try:
        pmap = PhenotypeMap.model_validate(merged)
    except ValidationError:
        return None
    return tree_with(genome, repo[ours].peel(pygit2.Commit), name, pmap)


def _phenotype_merge_message(title: str) -> str:
    from sggit.genome.phenostore import compose_message

    return compose_message(title, {"Sggit-Action": "merge"})


def integrate(genome: Genome, remote: str, report: SyncReport, memo: Memo | None = None) -> set[str]:
    """Bring the mirrored refs into ours, then the other hosts' outboxes; returns the refs left in conflict."""
    prefix = mirror_prefix(remote)
    host = genome.host
    worker = _Integrator(genome, report, host, memo or Memo())
    mirrored = sorted(r for r in genome.repo.references if r.startswith(prefix))
    outboxes: dict[str, list[tuple[str, pygit2.Oid]]] = {}
    for mref in mirrored:
        ref = "refs/" + mref[len(prefix):]
        theirs = genome.target(mref)
        boxed = _outbox_target(ref)
        if boxed is not None:
            if boxed[0] != host and theirs is not None and (boxed[1], theirs) not in worker.memo.merged:
                refused = outbox_damage(genome, boxed[1], theirs)
                if refused is None:
                    outboxes.setdefault(boxed[1], []).append((boxed[0], theirs))
                else:
                    from sggit.genome import damage

                    damage.warn("outbox", f"{ref} on {remote}", refused)
            continue
        kind = _kind(ref, host)
        if kind is None or theirs is None:
            continue
        if kind in ("genome", "lineage"):
            worker.merge(ref, kind, theirs)
        elif kind == "phenotype":
            worker.merge_phenotype(ref, theirs)
        else:
            worker.fast_forward(ref, kind, theirs)
    for ref, boxes in outboxes.items():
        if ref not in worker.blocked:
            worker.fold_outboxes(ref, boxes)
            worker.memo.merged.update((ref, oid) for _, oid in boxes)
    return worker.blocked


def outbox_damage(genome: Genome, ref: str, box: pygit2.Oid) -> str | None:
    """Why an outbox is no value of the shared `ref` a host could have left, or None when it may be folded.

    A push leaves its value only after integrating the remote's ref, so a real
    outbox is a commit that shares history with it; anything else (a blob, a
    stranger's commit whose tree would be merged into the genome) is damage.
    """
    obj = genome.repo.get(box)
    if obj is None or obj.type != pygit2.GIT_OBJECT_COMMIT:
        return f"it names {'no object' if obj is None else 'a ' + obj.type_str}, not a commit"
    ours = genome.target(ref)
    if ours is not None and ours != box and genome.repo.merge_base(ours, box) is None:
        return f"it shares no history with {ref}"
    return None


def damaged_outboxes(genome: Genome) -> list[tuple[str, str]]:
    """(where, why) of every outbox the last fetch from any remote mirrored that integrate skips as damage."""
    out: list[tuple[str, str]] = []
    named = {mirror_prefix(r)[len(MIRROR_ROOT):-1]: r for r in genome.repo.remotes.names() if r}  # as the user types it
    mirrors = sorted({r[len(MIRROR_ROOT):].partition("/")[0] for r in genome.repo.references if r.startswith(MIRROR_ROOT)})
    for mirror in mirrors:
        for box, shared, value in _others_outboxes(genome, f"{MIRROR_ROOT}{mirror}/"):
            why = outbox_damage(genome, shared, value)
            if why is not None:
                out.append((f"{box} on {named.get(mirror, mirror)}", why))
    return out


def pull(genome: Genome, remote: str = "origin") -> SyncReport:
    """Fetch the fleet's genome, lineage, fitness, mutations and phenotypes, and integrate them here."""
    require_remote(genome.git_dir, remote)
    report = SyncReport(remote=remote)
    fetch(genome, remote)
    with genome.locked():
        integrate(genome, remote, report)
    pack_refs(genome)
    return report


def _push_refs(genome: Genome, blocked: set[str]) -> list[str]:
    host = genome.host
    refs = [GENOME_REF, LINEAGE_REF, fitness_ref(host), MUTATIONS_BRANCH + host]
    refs += sorted(r for r in genome.repo.references if r.startswith(PHENOTYPE_REF_PREFIX))
    return [r for r in refs if r not in blocked and genome.target(r) is not None]


def push(genome: Genome, remote: str = "origin", *, deadline: float = PUSH_DEADLINE) -> SyncReport:
    """Fold local fitness, pull, then push what this host may write, fast-forward only.

    A push the remote refused because another host moved a ref first is
    retried after a new pull until `deadline` seconds have passed; from the
    first refusal on, what this host wanted to push also waits in its outbox
    on the remote, so whichever host wins next carries it. An unknown remote
    is refused before the journal is folded, so a typo changes nothing.
    """
    require_remote(genome.git_dir, remote)
    sync(genome)
    report = SyncReport(remote=remote)
    prefix = mirror_prefix(remote)
    pushed: dict[str, RefChange] = {}
    give_up = time.monotonic() + deadline
    attempt = 0
    boxed: set[str] = set()
    outboxes = True
    memo = Memo()
    mine = {r: genome.target(r) for r in _push_refs(genome, set()) if _shared(r)}
    while True:
        fetch(genome, remote)
        with genome.locked():
            blocked = integrate(genome, remote, report, memo)
            refs = _push_refs(genome, blocked)
            wanted = {r: genome.target(r) for r in refs}
        todo = [r for r in refs if _lacks(genome, genome.target(prefix + r[len("refs/"):]), wanted[r], mine.get(r) if _shared(r) else wanted[r])]
        if outboxes:
            boxed |= _own_outboxes(genome, prefix)
        waiting = {outbox_ref(genome.host, r): r for r in todo if outboxes and attempt > 0 and _shared(r)}
        specs = [f"{r}:{r}" for r in todo]
        specs += [f"+{r}:{box}" for box, r in waiting.items()]
        specs += [f":{box}" for box in sorted(boxed - set(waiting))]
        rejected: set[str] = set()
        if specs:
            done = _git(genome, "push", "--porcelain", remote, *specs)
            rejected, declined = _parse_push(done.stdout)
            if done.returncode != 0 and not rejected and not declined:
                raise FleetError(f"cannot push to {remote}: {git_reason(done.stderr)}")
            boxed = (boxed & rejected) | (set(waiting) - rejected - set(declined))
            rejected -= set(waiting) | boxed
            for ref in todo:
                if ref not in rejected and ref not in declined:
                    pushed[ref] = RefChange(ref=ref, kind=_kind(ref, genome.host) or "genome", action="pushed", new=str(wanted[ref]))
            if outboxes and any(ref.startswith(OUTBOX_PREFIX) for ref in declined):
                outboxes, boxed = False, set()  # the remote keeps its own rules for outboxes: push as though there were none
                continue
            for ref, reason in declined.items():
                raise FleetError(f"the remote declined {ref}: {reason}",
                                 hint="its hooks or branch rules refuse the push; ask whoever runs the remote, or push elsewhere")
        if not rejected:
            if outboxes:
                _clear_outboxes(genome, remote, prefix, boxed)
            break
        if time.monotonic() >= give_up:
            report.rejected = sorted(rejected)
            break
        for ref in rejected:
            pushed.pop(ref, None)
        time.sleep(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_FIRST * 2**attempt)))
        attempt += 1
    report.pushed = list(pushed.values())
    report.fetched = _latest(report.fetched)
    pack_refs(genome)
    return report


def _lacks(genome: Genome, remote: pygit2.Oid | None, wanted: pygit2.Oid | None, ours: pygit2.Oid | None) -> bool:
    """Whether the remote's ref still lacks what this host came to push.

    For a shared ref that is the value this push started from: what the other
    hosts' outboxes added since is theirs to see landed, so a crowd stops as
    soon as each host's own alleles are in, whoever carried them.
    """
    if remote == wanted or ours is None or remote == ours:
        return False
    return remote is None or not genome.repo.descendant_of(remote, ours)


def _clear_outboxes(genome: Genome, remote: str, prefix: str, own: set[str]) -> None:
    """Delete this host's outboxes and those of others the remote already holds, in a push of their own.

    Best effort: an outbox left is read again by the next integrate, and cleared
    by the next push. Not with the shared refs, since a remote whose pre-receive
    hook refused deleting one would refuse those too.
    """
    landed = _landed_outboxes(genome, prefix)
    if own or landed:
        leases = [f"--force-with-lease={box}:{oid}" for box, oid in landed.items()]
        _git(genome, "push", "--porcelain", *leases, remote, *[f":{box}" for box in [*sorted(own), *landed]])


def _landed_outboxes(genome: Genome, prefix: str, most: int = 32) -> dict[str, pygit2.Oid]:
    """Other hosts' outboxes whose value the remote's shared ref already holds, as the last fetch saw them.

    Their owners clear them on their next push; a host that never pushes again
    (replaced, decommissioned) would leave them for every integrate to read. A
    push that is pushing anyway deletes them, each under a lease on the value it
    saw, so an owner that wrote a new value since keeps it. Nothing is lost: the
    remote's shared refs only move forward, and they held all of it.
    """
    found: dict[str, pygit2.Oid] = {}
    for box, shared, value in _others_outboxes(genome, prefix):
        obj = genome.repo.get(value)
        if obj is None or obj.type != pygit2.GIT_OBJECT_COMMIT:
            continue  # damage, which integrate warned about: no value of a shared ref
        remote = genome.target(prefix + shared[len("refs/"):])
        if remote is not None and (remote == value or genome.repo.descendant_of(remote, value)):
            found[box] = value
            if len(found) == most:
                break
    return found


def _others_outboxes(genome: Genome, prefix: str) -> Iterator[tuple[str, str, pygit2.Oid]]:
    """(outbox ref, shared ref, value) of other hosts' outboxes as the last fetch under `prefix` mirrored them."""
    for mref in sorted(r for r in genome.repo.references if r.startswith(prefix + OUTBOX_PREFIX[len("refs/"):])):
        box = "refs/" + mref[len(prefix):]
        boxed = _outbox_target(box)
        value = genome.target(mref)
        if boxed is not None and boxed[0] != genome.host and value is not None:
            yield box, boxed[1], value


def _own_outboxes(genome: Genome, prefix: str) -> set[str]:
    """This host's outbox refs as the last fetch saw them on the remote."""
    mine = prefix + outbox_ref(genome.host, "refs/")[len("refs/"):]
    return {"refs/" + r[len(prefix):] for r in genome.repo.references if r.startswith(mine)}


def _latest(changes: list[RefChange]) -> list[RefChange]:
    """One entry per ref over several rounds: first old, last new, last action."""
    out: dict[str, RefChange] = {}
    for change in changes:
        first = out.get(change.ref)
        out[change.ref] = change if first is None else change.model_copy(update={"old": first.old})
    return list(out.values())


_DECLINED = ("hook declined", "denied", "deny", "protected", "not allowed", "permission")
"""Words of a remote that refuses a ref for good (its hooks, its rules), as opposed to one another host moved first."""


def _parse_push(stdout: str) -> tuple[set[str], dict[str, str]]:
    """The refs `git push --porcelain` refused (`!`): those refused because the remote moved
    meanwhile, and those it declines for good (a hook, a protected branch), with its reason.

    A declined shared ref is worth no retry, only waiting out the push deadline; the caller
    says so at once.
    """
    rejected: set[str] = set()
    declined: dict[str, str] = {}
    for line in stdout.splitlines():
        if line.startswith("!\t"):
            fields = line.split("\t")
            ref = fields[1].split(":", 1)[1]
            summary = fields[2] if len(fields) > 2 else ""
            if summary.startswith("[remote rejected]") and any(word in summary.lower() for word in _DECLINED):
                declined[ref] = summary.removeprefix("[remote rejected]").strip().strip("()")
            else:
                rejected.add(ref)
    return rejected, declined


__all__ = ["Conflict", "FleetError", "RefChange", "SyncReport", "fetch", "integrate", "mirror_prefix", "pull", "push", "union_tree"]
