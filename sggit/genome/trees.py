"""Editing git trees in memory: many path changes, one pass, no index, no working tree."""

from __future__ import annotations

from collections.abc import Mapping

import pygit2

BLOB = pygit2.enums.FileMode.BLOB
TREE = pygit2.enums.FileMode.TREE


def edit_tree(repo: pygit2.Repository, base: pygit2.Tree | None, changes: Mapping[str, pygit2.Oid | None]) -> pygit2.Oid:
    """Return a tree: `base` with each `path -> blob` set (or removed when None).

    Only the subtrees on changed paths are rebuilt, so the cost follows the
    changes and the width of the touched directories, not the whole tree.
    """
    new = _edit(repo, base, changes)
    return new if new is not None else repo.TreeBuilder().write()


def _edit(repo: pygit2.Repository, base: pygit2.Tree | None, changes: Mapping[str, pygit2.Oid | None]) -> pygit2.Oid | None:
    """The new tree, or None when it is left empty: its parent drops it, and no object is written for it."""
    here: dict[str, pygit2.Oid | None] = {}
    below: dict[str, dict[str, pygit2.Oid | None]] = {}
    for path, oid in changes.items():
        head, sep, rest = path.partition("/")
        if sep:
            below.setdefault(head, {})[rest] = oid
        else:
            here[head] = oid
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, oid in here.items():
        if oid is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, oid, BLOB)
    for name, sub in below.items():
        existing = base[name] if base is not None and name in base else None
        subtree = existing if isinstance(existing, pygit2.Tree) else None
        new = _edit(repo, subtree, sub)
        if new is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, new, TREE)
    return builder.write() if len(builder) else None


def entry(tree: pygit2.Tree | None, path: str) -> pygit2.Object | None:
    """The object at `path` in `tree`, or None; never raises for a missing path."""
    if tree is None:
        return None
    try:
        return tree / path
    except KeyError:
        return None
