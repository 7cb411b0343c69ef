"""Opening a genome repository, the process lock, and compare-and-swap ref updates.

Every write to the genome goes through `Genome.commit_to`: build a commit on the
ref's current tip, swap the ref only if nobody moved it meanwhile, and rebuild on
the new tip if somebody did. Objects are written before the ref moves, so a
SIGKILL at any point leaves either the old tip or the new one, never a ref to a
missing object.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from sggit.errors import SggitError, UsageError

GENOME_REF = "refs/heads/sggit/genome"
LINEAGE_REF = "refs/notes/sggit/lineage"
FITNESS_REF_PREFIX = "refs/notes/sggit/fitness/"
PHENOTYPE_REF_PREFIX = "refs/heads/phenotype/"
STATE_DIR = "sggit"

# libgit2 caches trees only up to 4 KiB, so a locus holding a thousand alleles was
# re-read and inflated on every path lookup through it; trees are immutable.
pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.TREE, 4 << 20)

_CAS_ATTEMPTS = 50
_STALE_LOCK_SECONDS = 1.0


class ConcurrentUpdate(SggitError):
    """The ref kept moving under us; nothing was written."""


class NotWritable(SggitError):
    """The repository (or sggit's state inside it) cannot be written here."""

    HINT = "sggit keeps the genome and its local state in .git; run it where .git is writable (not a read-only mount)"

    @classmethod
    def of(cls, path: Path, exc: OSError) -> NotWritable:
        return cls(f"cannot write {path}: {exc.strerror or exc}", hint=cls.HINT)


def _is_write_refusal(message: str) -> bool:
    text = message.lower()
    return "read-only file system" in text or "permission denied" in text


def host_name() -> str:
    """Fitness is kept per host so that fleet merges never conflict; SGGIT_HOST overrides."""
    name = os.environ.get("SGGIT_HOST") or socket.gethostname() or "localhost"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return safe or "localhost"


class _ProcessLock:
    """A flock on one file, reentrant inside the process.

    flock conflicts between two descriptors of the same process, so every user of
    one lock path shares one descriptor and a depth count. The kernel drops the
    lock when the process dies, so a SIGKILL never leaves the genome locked.
    """

    _registry: dict[str, _ProcessLock] = {}
    _registry_guard = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.depth = 0
        self.fd: int | None = None
        self.mutex = threading.RLock()
        self.pid = os.getpid()

    @classmethod
    def for_path(cls, path: Path) -> _ProcessLock:
        key = str(path.resolve())
        with cls._registry_guard:
            lock = cls._registry.get(key)
            if lock is None or lock.pid != os.getpid():
                lock = cls(path)
                cls._registry[key] = lock
            return lock

    @contextmanager
    def held(self) -> Iterator[None]:
        with self.mutex:
            if self.depth == 0:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except BaseException:
                    os.close(fd)
                    raise
                self.fd = fd
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if self.depth == 0 and self.fd is not None:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
                    os.close(self.fd)
                    self.fd = None

    @property
    def is_held(self) -> bool:
        return self.depth > 0


@dataclass
class Genome:
    """A git repository seen as a genome store; cheap to create, holds no state on disk by itself."""

    repo: pygit2.Repository
    host_override: str | None = None
    _lock: _ProcessLock | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def open(cls, path: str | Path = ".", *, host: str | None = None) -> Genome:
        try:
            found = pygit2.discover_repository(str(path))
        except (pygit2.GitError, OSError):
            found = None
        if not found:
            raise UsageError(f"not a git repository: {Path(path).resolve()}", hint="run `sggit init` or `git init` first")
        return cls(pygit2.Repository(found), host)

    def close(self) -> None:
        """Let go of the repository's open files (packfiles, indexes) now, not when this is dropped.

        A long-lived process that opens one genome after another would otherwise hold a
        descriptor per packfile until each object is collected. The genome stays usable:
        libgit2 opens what a later read needs again.
        """
        self.repo.free()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def git_dir(self) -> Path:
        return Path(self.repo.path)

    @property
    def workdir(self) -> Path | None:
        return Path(self.repo.workdir) if self.repo.workdir else None

    @property
    def common_dir(self) -> Path:
        """The git dir shared by all worktrees: refs live there, so the lock and journal do too."""
        pointer = self.git_dir / "commondir"
        if pointer.is_file():
            return (self.git_dir / pointer.read_text().strip()).resolve()
        return self.git_dir

    @property
    def state_dir(self) -> Path:
        """Local, never-committed state (journal, lock) lives inside .git, out of the user's way."""
        path = self.common_dir / STATE_DIR
        if not path.is_dir():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise NotWritable.of(path, exc) from None
        return path

    @property
    def host(self) -> str:
        """This host's name for per-host refs; `host=` on open serves many simulated hosts in one process."""
        return self.host_override or host_name()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise multi-step operations (read, decide, write) across processes.

        Every write to the genome happens inside, so a repository we may not
        write to is reported here, as one clear error, before anything starts.
        """
        # Found once per genome: under many threads, each stat and resolve of the
        # path gives up the interpreter lock, and every write takes this lock.
        lock = self._lock
        if lock is None or lock.pid != os.getpid():
            lock = self._lock = _ProcessLock.for_path(self.state_dir / "lock")
        try:
            held = lock.held()
            try:
                held.__enter__()
            except FileNotFoundError:
                lock = self._lock = _ProcessLock.for_path(self.state_dir / "lock")
                held = lock.held()
                held.__enter__()
        except OSError as exc:
            raise NotWritable.of(lock.path, exc) from None
        try:
            yield
        except pygit2.GitError as exc:
            if _is_write_refusal(str(exc)):
                raise NotWritable(f"cannot write to the repository {self.common_dir}: {exc}", hint=NotWritable.HINT) from None
            raise
        finally:
            held.__exit__(None, None, None)

    def ensure_writable(self) -> None:
        """Fail with NotWritable now, before a run starts, if sggit could not record what it does."""
        with self.locked():
            pass
        # objects live in the common directory: a linked worktree's own git dir has none
        for directory in (self.state_dir, self.common_dir / "objects"):
            try:
                fd, probe = tempfile.mkstemp(prefix=".sggit-write-probe-", dir=directory)
            except OSError as exc:
                raise NotWritable.of(directory, exc) from None
            os.close(fd)
            os.unlink(probe)

    def keep_packed(self) -> bool:
        return keep_packed(self)

    def signature(self) -> pygit2.Signature:
        try:
            return self.repo.default_signature
        except (KeyError, pygit2.GitError):
            return pygit2.Signature("sggit", f"sggit@{self.host}")

    def target(self, refname: str) -> pygit2.Oid | None:
        ref = self.repo.references.get(refname)
        if ref is None:
            return None
        resolved = ref.resolve()
        return resolved.target  # type: ignore[return-value]

    def tip_tree(self, refname: str) -> pygit2.Tree | None:
        oid = self.target(refname)
        if oid is None:
            return None
        return self.repo[oid].peel(pygit2.Tree)

    def compare_and_swap(self, refname: str, new: pygit2.Oid, expected: pygit2.Oid | None, message: str) -> bool:
        """Move `refname` to `new` only if it still points at `expected` (None: must not exist)."""
        with self.locked():
            for attempt in range(40):
                try:
                    with self.repo.transaction() as txn:
                        txn.lock_ref(refname)
                        current = self.target(refname)
                        if current != expected:
                            return False
                        txn.set_target(refname, new, message=message)
                    return True
                except pygit2.GitError as exc:
                    if "lock" not in str(exc).lower():
                        raise
                    self._clear_stale_lock(refname, attempt)
            raise ConcurrentUpdate(f"could not lock {refname}", hint=f"remove {self.common_dir / (refname + '.lock')} if no git process is running")

    def _clear_stale_lock(self, refname: str, attempt: int) -> None:
        """A ref .lock left by a killed sggit process; we hold the genome lock, so it is no live writer of ours."""
        lock = self.common_dir / (refname + ".lock")
        try:
            age = time.time() - lock.stat().st_mtime
        except FileNotFoundError:
            return
        if age > _STALE_LOCK_SECONDS:
            try:
                lock.unlink()
            except FileNotFoundError:
                pass
            return
        time.sleep(min(0.05 * (attempt + 1), 0.25))

    def commit_to(
        self,
        refname: str,
        build: Callable[[pygit2.Commit | None], tuple[pygit2.Oid, str] | None],
        *,
        reflog: str = "sggit",
    ) -> pygit2.Oid | None:
        """Commit `build(tip)`'s (tree, message) on `refname` with CAS, rebuilding when the tip moves.

        `build` returns None when there is nothing to change; then nothing is written.
        """
        sig = self.signature()
        for _ in range(_CAS_ATTEMPTS):
            expected = self.target(refname)
            tip = self.repo[expected].peel(pygit2.Commit) if expected is not None else None
            built = build(tip)
            if built is None:
                return None
            tree, message = built
            parents = [tip.id] if tip is not None else []
            commit = self.repo.create_commit(None, sig, sig, message, tree, parents)
            if self.compare_and_swap(refname, commit, expected, f"{reflog}: {message.splitlines()[0]}"):
                self.keep_packed()
                return commit
        raise ConcurrentUpdate(f"{refname} kept changing; gave up after {_CAS_ATTEMPTS} attempts")

    def migrate(
        self,
        refname: str,
        rewrite: Callable[[pygit2.Commit], pygit2.Oid | None],
        message: str,
        *,
        reflog: str,
    ) -> pygit2.Oid | None:
        """Commit `rewrite(tip)`, the tip's tree in the current layout, as a commit of its own; None when there is nothing to move.

        Writers call this before their first change, so that change's commit (its diff,
        its pull request, its `git revert`) holds only the change. `rewrite` returns
        None when the tip is in the current layout already. Readers read both
        layouts, so a crash before the ref moves leaves a tip that still works.
        """

        def build(tip: pygit2.Commit | None) -> tuple[pygit2.Oid, str] | None:
            if tip is None:
                return None
            tree = rewrite(tip)
            return None if tree is None or tree == tip.tree.id else (tree, message)

        with self.locked():
            return self.commit_to(refname, build, reflog=reflog)


_GC_AUTO_DEFAULT = 6700


def _loose_estimate_exceeds(objects: Path, threshold: int) -> bool:
    """git's own test for auto-gc: more than threshold/256 loose objects in objects/17."""
    try:
        count = sum(1 for name in os.listdir(objects / "17") if len(name) == 38)
    except OSError:
        return False
    return count > (threshold + 255) // 256


def _gc_threshold(repo: pygit2.Repository) -> int:
    try:
        return int(str(repo.config["gc.auto"]))
    except (KeyError, ValueError, pygit2.GitError):
        return _GC_AUTO_DEFAULT


_PACK_LIMIT_DEFAULT = 50


def _pack_limit(repo: pygit2.Repository) -> int:
    try:
        return int(str(repo.config["gc.autoPackLimit"]))
    except (KeyError, ValueError, pygit2.GitError):
        return _PACK_LIMIT_DEFAULT


_LOOSE_FITNESS_REFS = 8


def keep_packed(genome: Genome) -> bool:
    """Pack loose objects past `gc.auto` and loose fitness refs past a few, as git's auto-gc would; True if either ran.

    Every commit writes a handful of loose objects; a thousand registrations left
    145 MiB in 19,340 loose files that pack into 2 MiB. The check costs one
    directory listing.

    It runs `git repack`, not `git gc`: gc hands the work to a `git repack` child
    that outlives a killed sggit and goes on deleting packed loose objects, while
    repack deletes them itself and dies with us (sggit.genome.gitproc). Past
    `gc.autoPackLimit` packs it repacks everything into one, keeping unreachable
    objects loose as gc does.

    Refs: every host that syncs in this repository leaves its fitness ref loose, a
    file each status and show opens; past a few, one `git pack-refs` makes them one
    file read once, as a pull leaves them.
    """
    refs = _pack_refs_if_loose(genome)
    threshold = _gc_threshold(genome.repo)
    if threshold <= 0 or not _loose_estimate_exceeds(genome.common_dir / "objects", threshold):
        return refs
    from sggit.genome.gitproc import run_git

    packs = genome.common_dir / "objects" / "pack"
    try:
        count = sum(1 for name in os.listdir(packs) if name.endswith(".pack"))
    except OSError:
        count = 0
    limit = _pack_limit(genome.repo)
    args = ["repack", "-d", "-l", "-q"] + (["-A", "--unpack-unreachable=2.weeks.ago"] if 0 < limit < count else [])
    try:
        done = run_git(genome.common_dir, args)
    except OSError:
        return refs
    return done.returncode == 0 or refs


def _pack_refs_if_loose(genome: Genome) -> bool:
    try:
        with os.scandir(genome.common_dir / FITNESS_REF_PREFIX) as entries:
            loose = sum(1 for _ in entries)
    except OSError:
        return False
    return loose > _LOOSE_FITNESS_REFS and pack_refs(genome)


def pack_refs(genome: Genome) -> bool:
    """Pack loose refs into packed-refs, as `git gc` would; True if git did.

    A pull brings one fitness ref per host and its mirror: loose, each is a file
    every listing of the refs opens (status lists them all to see whether any
    host's notes moved). Packed, fifty hosts are one file read once.

    git dies with us, and a `git pack-refs` killed mid-way leaves
    `packed-refs.lock`, which would block every later pack and every ref deletion
    (git's own and the user's). So the packing is marked in `.git/sggit/pack-refs`
    under a lock the kernel drops with its holder: whoever takes it next and finds
    the mark of a packer that never finished removes that packer's lock file. A
    `packed-refs.lock` without that mark belongs to a live git and is left alone.
    """
    from sggit.genome.gitproc import run_git

    try:
        fd = os.open(genome.state_dir / "pack-refs", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except (OSError, NotWritable):
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # another sggit is packing them now
        if os.pread(fd, 16, 0).startswith(b"running"):
            (genome.common_dir / "packed-refs.lock").unlink(missing_ok=True)
        os.pwrite(fd, b"running\n", 0)
        try:
            done = run_git(genome.common_dir, ["pack-refs", "--all"])
        except OSError:
            return False
        finally:
            os.ftruncate(fd, 0)
        return done.returncode == 0
    finally:
        os.close(fd)


def fsync_enabled() -> None:
    """Ask libgit2 to fsync objects and refs, for durability across power loss (SIGKILL needs none)."""
    pygit2.option(pygit2.enums.Option.ENABLE_FSYNC_GITDIR, 1)


__all__ = [
    "FITNESS_REF_PREFIX",
    "GENOME_REF",
    "LINEAGE_REF",
    "PHENOTYPE_REF_PREFIX",
    "ConcurrentUpdate",
    "Genome",
    "NotWritable",
    "host_name",
]
