"""Loose refs and packed-refs read as the plain files git keeps them in.

Two answers that must not be recomputed needlessly (the kept status output, the
fitness view's cache) are validated by what git itself reads to resolve a ref,
and both must be checked without importing libgit2. Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator


def read_file(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def file_stamp(path: str) -> bytes:
    """Inode, size and both times: a rewrite (a rename over it) changes at least the inode; b"-" if absent."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return b"-"
    return b"%d %d %d %d" % (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def loose_refs(common: str, prefix: str = "refs") -> Iterator[tuple[str, bytes]]:
    """Every loose ref file under `prefix`, as (name, content), in name order.

    A ref's update replaces its file, so name and content say whether it moved.
    A ref deleted while the folder is read is skipped, as it is gone.
    """
    pending = [prefix.rstrip("/")]
    while pending:
        rel = pending.pop()
        try:
            with os.scandir(os.path.join(common, rel)) as entries:
                found = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in entries)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name, is_dir in reversed(found):
            path = f"{rel}/{name}"
            if is_dir:
                pending.append(path)
                continue
            try:
                yield path, read_file(os.path.join(common, path))
            except (FileNotFoundError, IsADirectoryError):
                continue
