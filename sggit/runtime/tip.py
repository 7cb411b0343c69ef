"""The phenotype map as of its branch tip: re-read only when the tip moved, with what is derived from it.

Every gene call asks which alleles to run and whether to promote, and a
promotion (in this process or another) may have moved the branch since the
last call, so the tip is checked each time. Looking a ref up through libgit2
costs a few microseconds; reading the loose ref file costs one `read(2)`. In
git's files backend a loose ref, when present, is the ref (it shadows
`packed-refs`, and git replaces it by rename, so a reader sees the old or the
new id whole). A packed, symbolic or unreadable ref falls back to libgit2.

Cheaper still is a `stat(2)` of the file: while it names the file last read
(same inode, size and times), the id read then stands. File times come from a
coarse clock, so, as git does for its index, a file changed shortly before it
was read (`racy_window`: 0.1 s, or 2.1 s where the file system keeps whole
seconds) is never trusted this way: a rewrite in the same clock tick would leave
its times as they were, and git's rename often reuses the inode number.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sggit.genome import phenostore
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome

T = TypeVar("T")

_RACY_NS = 100_000_000  # far above the kernel's file-time granularity (a jiffy)
_COARSE_RACY_NS = 2_100_000_000  # file systems keeping whole seconds (ext3, ext4 with small inodes; FAT: 2 s)


def racy_window(st: os.stat_result) -> int:
    """Nanoseconds after its last change during which a file's stat may not show a rewrite.

    A file system that keeps whole seconds gives two rewrites in the same second the
    same times, and git's rename often reuses the inode number: such times are racy
    for longer.
    """
    whole = st.st_mtime_ns % 1_000_000_000 == 0 and st.st_ctime_ns % 1_000_000_000 == 0
    return _COARSE_RACY_NS if whole else _RACY_NS


class PhenotypeView:
    """One phenotype's map and values computed from it, each valid for one branch tip."""

    def __init__(self, genome: Genome, name: str) -> None:
        self.genome = genome
        self.name = name
        self.ref = phenostore.phenotype_ref(name)
        gitdir = Path(genome.repo.path)
        # a linked worktree keeps shared refs elsewhere: let libgit2 find them
        self._loose: str | None = None if (gitdir / "commondir").exists() else str(gitdir / self.ref)
        self._lock = threading.Lock()
        self._tip: str | None = None
        self._map: PhenotypeMap | None = None
        self._derived: dict[Any, Any] = {}
        self._seen: tuple[tuple[int, ...], str] | None = None  # the loose file's stat, and the id it held

    def tip(self) -> str | None:
        if self._loose is not None:
            seen = self._seen
            if seen is not None:
                try:
                    st = os.stat(self._loose)
                except FileNotFoundError:
                    pass
                else:
                    if (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == seen[0]:
                        return seen[1]
                self._seen = None
            try:
                fd = os.open(self._loose, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                pass
            else:
                try:
                    raw = os.read(fd, 128)
                    st = os.fstat(fd)
                finally:
                    os.close(fd)
                # "<id>\n" (a symbolic ref reads "ref: ..."); anything odd only costs a re-read
                if len(raw) in (41, 65) and raw[-1:] == b"\n" and not raw.startswith(b"ref:"):
                    tip = raw[:-1].decode("ascii", "replace")
                    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > racy_window(st):
                        self._seen = ((st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns), tip)
                    return tip
        oid = self.genome.target(self.ref)
        return None if oid is None else str(oid)

    def _current(self) -> PhenotypeMap:
        tip = self.tip()
        if self._map is None or tip != self._tip:
            self._map, self._tip, self._derived = phenostore.read_phenotype(self.genome, self.name), tip, {}
        return self._map

    def map(self) -> PhenotypeMap:
        with self._lock:
            return self._current()

    def derived(self, key: Any, compute: Callable[[PhenotypeMap], T]) -> T:
        """`compute(map)`, computed once per tip (compute must depend on the map alone)."""
        with self._lock:
            pmap = self._current()
            if key not in self._derived:
                self._derived[key] = compute(pmap)
            return self._derived[key]  # type: ignore[no-any-return]
