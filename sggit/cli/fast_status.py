"""A repeated `sggit status` answered from the last full one's output, with the standard library only.

Importing pygit2, pydantic and click is most of what a status costs, and its
answer is a function of inputs that plain file reads can describe: the refs it
reads (`STATUS_REFS`, loose ref files, and `packed-refs`: phenotype branches,
the genome tree and sggit's other branches, sggit's notes, the remote-tracking refs
of sggit's branches and the fleet's mirrors; not the user's own branches and tags,
nor what a fetch brings of them), this host's unsynced journal
(the live file and its detached segments), the repository's config (not `HEAD`:
status reads no branch of the user's, so a checkout changes no answer),
the environment that names the host or steers git, the code that rendered the
answer, and the options. The full command (`sggit.cli.full_status`) describes
those inputs before it reads anything, renders, prints, describes them again, and
keeps its output here when both descriptions agree, nothing was written to stderr
and it succeeded. A later `sggit status` with the same options describes them
afresh and prints the kept output only when the description is byte for byte the
same; otherwise (or for other arguments, a linked repository layout this module
does not know, any read error) the full command runs and keeps its answer again.
Status reads no file of the working tree, so none is part of the description.

Every other command, as it ends, asks `stale` which of the few most recently
kept outputs it made stale, and renders those anew the same way in its own
process (`sggit.cli.full_status.refresh`), so the status that follows a
change made through sggit is served from here as well.
"""

from __future__ import annotations

import os
import sys

from sggit.refsdir import file_stamp, loose_refs, read_file

MAGIC = b"sggit-status-snapshot 4\n"
JOURNAL = "fitness.journal"
REFRESH_LIMIT = 4
REFRESH = "SGGIT_STATUS_REFRESH"
"""`0`: a command other than status leaves the kept outputs it made stale for the next status to render; not an input."""
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATUS_REFS = ("refs/heads/phenotype", "refs/heads/sggit", "refs/notes/sggit", "refs/remotes", "refs/sggit")
"""Where every ref a status reads lives; a commit on the user's own branch, a tag or a stash leaves its answer standing."""
REMOTE_TRACKING = "refs/remotes"
"""Of these, only refs with a `sggit` component after the remote's name (`refs/remotes/R/sggit/genome`) are read."""


def read_by_status(name: str) -> bool:
    """Whether a loose ref under `STATUS_REFS` is one status reads: a fetch of the user's `main` is not.

    A remote's name may itself contain `/`, so any `sggit` component past the
    remote-tracking prefix counts; a user's branch `x/sggit/y` only costs a full status.
    """
    if not name.startswith(REMOTE_TRACKING + "/"):
        return True
    return "/sggit/" in name[len(REMOTE_TRACKING) + 1:]


def options(args: list[str]) -> tuple[str, str | None] | None:
    """`--format` and `--phenotype` as click parses them for status, or None for anything else."""
    fmt, phenotype = "text", None
    i = 0
    while i < len(args):
        name, sep, value = args[i].partition("=")
        if name not in ("--format", "--phenotype"):
            return None
        if not sep:
            if i + 1 >= len(args):
                return None
            i += 1
            value = args[i]
            if value.startswith("-"):
                return None
        i += 1
        if name == "--format":
            if value not in ("text", "json"):
                return None
            fmt = value
        else:
            phenotype = value
    return fmt, phenotype


def locate(start: str = ".") -> tuple[str, str] | None:
    """(git dir, common dir) of the work tree around `start`: a `.git` directory or a `gitdir:` file."""
    here = os.path.realpath(start)
    while True:
        dot = os.path.join(here, ".git")
        if os.path.isdir(dot):
            git_dir = dot
            break
        if os.path.isfile(dot):
            with open(dot, encoding="utf-8", errors="replace") as handle:
                text = handle.read().strip()
            if not text.startswith("gitdir:"):
                return None
            git_dir = os.path.realpath(os.path.join(here, text.removeprefix("gitdir:").strip()))
            break
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent
    common = git_dir
    pointer = os.path.join(git_dir, "commondir")
    if os.path.isfile(pointer):
        with open(pointer, encoding="utf-8") as handle:
            common = os.path.realpath(os.path.join(git_dir, handle.read().strip()))
    return git_dir, common


def inputs(common: str, fmt: str, phenotype: str | None) -> bytes | None:
    """What status's answer depends on, as bytes; None when this layout is not one described here."""
    if os.path.exists(os.path.join(common, "reftable")):
        return None
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith(("GIT_", "SGGIT_")) and k != REFRESH)
    parts = [
        MAGIC,
        repr((fmt, phenotype, env, os.uname().nodename, sys.hexversion)).encode("utf-8", "surrogateescape"),
        b"config " + file_stamp(os.path.join(common, "config")),
        b"packed-refs " + file_stamp(os.path.join(common, "packed-refs")),
        *(name.encode("utf-8", "surrogateescape") + b" " + content
          for prefix in STATUS_REFS for name, content in loose_refs(common, prefix) if read_by_status(name)),
    ]
    try:
        with os.scandir(os.path.join(common, "sggit")) as entries:
            journal = sorted(e.name for e in entries if e.name.startswith(JOURNAL))
    except FileNotFoundError:
        journal = []
    parts.extend(name.encode("utf-8", "surrogateescape") + b" " + file_stamp(os.path.join(common, "sggit", name)) for name in journal)
    return b"\n".join(parts)


def _code_stamps(paths: list[str]) -> bytes:
    return b"\n".join(p.encode("utf-8", "surrogateescape") + b" " + file_stamp(p) for p in paths)


def snapshot_path(common: str, fmt: str, phenotype: str | None) -> str:
    which = "all" if phenotype is None else "only-" + phenotype.encode("utf-8", "surrogateescape").hex()
    return os.path.join(common, "sggit", "cache", f"status-{fmt}-{which}.snap")


def loaded_code() -> list[str]:
    """The code a status answer came from: every loaded sggit module, and each installed package's top.

    The standard library changes only with the Python version, which the inputs name.
    """
    files = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        if name == "sggit" or name.startswith("sggit.") or ("." not in name and ("site-packages" in path or "dist-packages" in path)):
            files.add(path)
    return sorted(files)


def keep(common: str, fmt: str, phenotype: str | None, before: bytes, output: str) -> bool:
    """Keep a full status's output if its inputs did not move while it ran; False when not kept."""
    if inputs(common, fmt, phenotype) != before:
        return False
    code = loaded_code()
    paths = "\n".join(code).encode("utf-8", "surrogateescape")
    stamps = _code_stamps(code)
    body = output.encode("utf-8", "surrogatepass")
    data = MAGIC + b"%d %d %d %d\n" % (len(before), len(paths), len(stamps), len(body)) + before + paths + stamps + body
    target = snapshot_path(common, fmt, phenotype)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        # A cache: no fsync. A torn file fails the length check of kept_output and is recomputed.
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True


def _current(common: str, fmt: str, phenotype: str | None) -> str | None:
    """The kept output for these options if every input is as it was; else None (FileNotFoundError: none kept)."""
    data = read_file(snapshot_path(common, fmt, phenotype))
    if not data.startswith(MAGIC):
        return None
    header, _, rest = data[len(MAGIC):].partition(b"\n")
    sizes = [int(n) for n in header.split()]
    if len(sizes) != 4 or sum(sizes) != len(rest):
        return None
    n_inputs, n_paths, n_stamps, _ = sizes
    now = inputs(common, fmt, phenotype)
    if now is None or rest[:n_inputs] != now:
        return None
    paths = rest[n_inputs:n_inputs + n_paths].decode("utf-8", "surrogateescape").split("\n")
    if _code_stamps(paths) != rest[n_inputs + n_paths:n_inputs + n_paths + n_stamps]:
        return None
    return rest[n_inputs + n_paths + n_stamps:].decode("utf-8", "surrogatepass")


def kept_output(fmt: str, phenotype: str | None, start: str = ".") -> str | None:
    """The kept output of `sggit status` with these options, if every input is as it was; else None."""
    found = locate(start)
    if found is None:
        return None
    try:
        return _current(found[1], fmt, phenotype)
    except FileNotFoundError:
        return None


def _kept_options(name: str) -> tuple[str, str | None] | None:
    """The options a snapshot file was kept for, read back from the name `snapshot_path` gave it."""
    if not (name.startswith("status-") and name.endswith(".snap")):
        return None
    fmt, _, which = name.removeprefix("status-").removesuffix(".snap").partition("-")
    if fmt not in ("text", "json"):
        return None
    if which == "all":
        return fmt, None
    if not which.startswith("only-"):
        return None
    try:
        return fmt, bytes.fromhex(which.removeprefix("only-")).decode("utf-8", "surrogateescape")
    except ValueError:
        return None


def refresh_wanted() -> bool:
    """Whether a command other than status re-renders the kept outputs it made stale (`SGGIT_STATUS_REFRESH=0`: no)."""
    return os.environ.get(REFRESH, "1") != "0"


def stale(start: str = ".", limit: int = REFRESH_LIMIT) -> tuple[str, list[tuple[str, str | None]]] | None:
    """The git dir around `start` and the options of its most recently kept outputs that are no longer current.

    Only the `limit` newest snapshots count, so a repository that was asked for
    many phenotypes one by one costs a command no more than a few renders.
    """
    found = locate(start)
    if found is None:
        return None
    git_dir, common = found
    cache = os.path.join(common, "sggit", "cache")
    try:
        with os.scandir(cache) as entries:
            names = [(e.name, e.stat().st_mtime_ns) for e in entries if e.name.startswith("status-")]
    except OSError:
        return None  # no cache, or one that cannot be read: nothing to refresh
    for name, _ in names:
        if name.endswith(".tmp"):
            _remove_orphan(os.path.join(cache, name))
    kept = sorted(((mtime, name) for name, mtime in names if name.endswith(".snap")), reverse=True)
    out = []
    for _, name in kept[:limit]:
        options = _kept_options(name)
        if options is None:
            continue
        try:
            if _current(common, *options) is not None:
                continue
        except FileNotFoundError:
            continue  # removed meanwhile: nothing to refresh
        except (OSError, ValueError):
            pass  # unreadable or torn: render it anew
        out.append(options)
    return git_dir, out


def _remove_orphan(path: str) -> None:
    """A half-written snapshot whose writer died (SIGKILL between write and rename) is removed, never read."""
    try:
        pid = int(path.rsplit(".", 2)[-2])
        os.kill(pid, 0)
    except ProcessLookupError:
        try:
            os.unlink(path)
        except OSError:
            pass
    except (ValueError, OSError):
        pass


def forget(git_dir: str, fmt: str, phenotype: str | None) -> None:
    """Remove a kept output that could not be rendered anew, so later commands do not try it again."""
    found = locate()
    if found is None or os.path.realpath(found[0]) != os.path.realpath(git_dir):
        return
    try:
        os.unlink(snapshot_path(found[1], fmt, phenotype))
    except OSError:
        pass  # gone already, or a read-only `.git`: its description still refuses it


def serve(args: list[str]) -> int | None:
    """Print the kept answer of `sggit status ARGS` and return its exit status, or None to run the full command."""
    parsed = options(args)
    if parsed is None:
        return None
    try:
        output = kept_output(*parsed)
    except KeyboardInterrupt:
        sys.stderr.write("sggit: interrupted\n")
        return 130
    except Exception:  # noqa: BLE001 - a kept answer that cannot be read is only a slower status
        return None
    if output is None:
        return None
    try:
        sys.stdout.write(output)
        sys.stdout.flush()
    except BrokenPipeError:
        # as the command line's error boundary does: the reader went away (`sggit status | head`)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream until exit
        return 141
    except KeyboardInterrupt:
        sys.stderr.write("sggit: interrupted\n")
        return 130
    return 0


class StreamWatch:
    """Stands in for sys.stderr (or stdout) while a status renders, and notes whether anything was written.

    A status that warned (a damaged note, a torn journal line) must warn again
    next time, so its answer is not kept. A refresh after another command passes
    nothing on (`echo=False`): that command's output is the user's, not status's.
    """

    def __init__(self, stream: object, echo: bool = True) -> None:
        self.stream = stream
        self.echo = echo
        self.written = False

    def write(self, text: str) -> int:
        if text:
            self.written = True
        if not self.echo:
            return len(text)
        return self.stream.write(text)  # type: ignore[attr-defined, no-any-return]

    def flush(self) -> None:
        if self.echo:
            self.stream.flush()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


class Recording:
    """Around a full status: the inputs before it read anything, and whether it wrote to stderr.

    `keep(output)` afterwards keeps the output when the inputs are still the same;
    a repository this module cannot describe (`git_dir` not the one `locate`
    finds, a reftable) is simply not kept. `quiet` (a refresh after another
    command) lets nothing through to stdout or stderr, and keeps nothing if
    anything was written to either.
    """

    def __init__(self, git_dir: str, fmt: str, phenotype: str | None, quiet: bool = False) -> None:
        self.fmt, self.phenotype = fmt, phenotype
        self.located = locate()
        self.before: bytes | None = None
        if self.located is not None and os.path.realpath(self.located[0]) == os.path.realpath(git_dir):
            try:
                self.before = inputs(self.located[1], fmt, phenotype)
            except OSError:
                self.before = None
        self.watch = StreamWatch(sys.stderr, echo=not quiet)
        self.out = StreamWatch(sys.stdout, echo=False) if quiet else None

    @property
    def warned(self) -> bool:
        return self.watch.written or (self.out is not None and self.out.written)

    def __enter__(self) -> Recording:
        sys.stderr = self.watch  # type: ignore[assignment]
        if self.out is not None:
            sys.stdout = self.out  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stderr = self.watch.stream  # type: ignore[assignment]
        if self.out is not None:
            sys.stdout = self.out.stream  # type: ignore[assignment]

    def keep(self, output: str) -> bool:
        if self.before is None or self.located is None or self.warned:
            return False
        try:
            return keep(self.located[1], self.fmt, self.phenotype, self.before, output)
        except OSError:
            return False  # not kept: the next status costs its full time, nothing else
