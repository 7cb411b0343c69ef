"""Git notes written the way git lays them out: fanout directories, many notes per commit.

libgit2's `create_note` writes one note per commit into a flat tree and rewrites
that tree each time, which grows quadratically; here a batch of notes becomes one
commit and the tree is sharded by the first two hex digits of the annotated
object, as `git notes` does for large note sets. Readers accept both layouts, so
notes added later with stock `git notes` are found too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pygit2

from sggit.genome.repo import Genome
from sggit.genome.trees import edit_tree, entry


def note_path(object_hex: str) -> str:
    return f"{object_hex[:2]}/{object_hex[2:]}"


def read_note_in(repo: pygit2.Repository, tree: pygit2.Tree | None, object_hex: str) -> bytes | None:
    """A note's bytes from a notes tree in either layout (fanout first, then flat)."""
    for path in (note_path(object_hex), object_hex, f"{object_hex[:2]}/{object_hex[2:4]}/{object_hex[4:]}"):
        obj = entry(tree, path)
        if isinstance(obj, pygit2.Blob):
            return obj.data
    return None


def read_note(genome: Genome, ref: str, object_hex: str) -> bytes | None:
    return read_note_in(genome.repo, genome.tip_tree(ref), object_hex)


def iter_notes(genome: Genome, ref: str) -> Iterator[tuple[str, bytes]]:
    """Every (annotated object hex, note bytes) under `ref`, whatever the fanout."""
    tree = genome.tip_tree(ref)
    if tree is None:
        return
    stack: list[tuple[str, pygit2.Tree]] = [("", tree)]
    while stack:
        prefix, current = stack.pop()
        for item in current:
            name = prefix + (item.name or "")
            obj = genome.repo[item.id]
            if isinstance(obj, pygit2.Tree):
                stack.append((name, obj))
            elif isinstance(obj, pygit2.Blob) and all(c in "0123456789abcdef" for c in name):
                yield name, obj.data


def write_notes(genome: Genome, ref: str, notes: Mapping[str, bytes], message: str, *, files: Mapping[str, bytes] | None = None) -> pygit2.Oid | None:
    """Add or replace many notes in one commit on `ref`, compare-and-swap; None if nothing changed.

    `files` are non-note entries (paths that are not object names) written in the
    same commit; stock `git notes` keeps such entries as they are.
    """
    blobs = {hex_: genome.repo.create_blob(data) for hex_, data in notes.items()}
    extra = {path: genome.repo.create_blob(data) for path, data in (files or {}).items()}

    def build(tip: pygit2.Commit | None) -> tuple[pygit2.Oid, str] | None:
        base = tip.tree if tip is not None else None
        changes: dict[str, pygit2.Oid | None] = {}
        for hex_, blob in blobs.items():
            if read_note_in(genome.repo, base, hex_) is not None:
                changes[hex_] = None
                changes[f"{hex_[:2]}/{hex_[2:4]}/{hex_[4:]}"] = None
            changes[note_path(hex_)] = blob
        changes.update(extra)
        tree = edit_tree(genome.repo, base, changes)
        if base is not None and tree == base.id:
            return None
        return tree, message

    return genome.commit_to(ref, build, reflog="notes")
