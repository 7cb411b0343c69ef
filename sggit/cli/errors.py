"""The one error boundary of the command line.

A `SggitError` (or a contract error) is the user's to act on: its message, exit 1
or 2. So are the environment's refusals that name a file (a path that cannot be
created, a read-only `.git`), a filesystem that is read-only, full or over quota
(named by path, with what to do), and a repository format sggit cannot read. Anything
else is sggit's own bug: the user sees "unexpected error" and where the
traceback was written (`.git/sggit/log/`, or a temporary directory outside a
repository), and the exit status is 3. It imports no click, so a plain
`sggit status` (`sggit.cli.full_status`) runs inside it without click too.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

from sggit.errors import SggitError

UNEXPECTED = 3
_ENVIRONMENT = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR, errno.EISDIR,
                errno.ENOSPC, errno.EDQUOT, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP}


class Reported(NamedTuple):
    """What the user is told, and the exit status."""

    message: str
    exit_code: int


def git_dir(start: Path | None = None) -> Path | None:
    """The `.git` directory of the repository around `start`, found without opening it."""
    from pathlib import Path

    here = (start or Path.cwd()).resolve()
    for path in (here, *here.parents):
        dot = path / ".git"
        if dot.is_dir():
            return dot
        if dot.is_file():
            text = dot.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text.removeprefix("gitdir:").strip())
                return target if target.is_absolute() else (path / target).resolve()
    return None


def _unwritable(directory: Path) -> str | None:
    """Why nothing can be written in `directory`, or None when something can."""
    import tempfile

    try:
        fd, name = tempfile.mkstemp(prefix=".sggit-probe-", dir=directory)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(name)
    return None


def _contract_error(exc: BaseException) -> bool:
    module = sys.modules.get("sggit.contract.errors")
    return module is not None and isinstance(exc, module.ContractError)


def _git_error(exc: BaseException) -> bool:
    module = sys.modules.get("pygit2")
    return module is not None and isinstance(exc, module.GitError)


def classify(exc: BaseException) -> Reported | None:
    """The user-facing report of `exc`, or None when it is sggit's own failure."""
    if isinstance(exc, SggitError) or _contract_error(exc):
        return Reported(str(exc), int(getattr(exc, "exit_code", 1)))
    if "unknown object format" in str(exc) and (_git_error(exc) or isinstance(exc, ValueError)):
        return Reported(
            "this repository uses SHA-256 object names, which sggit's libgit2 cannot read; nothing was changed"
            "\nhint: use a SHA-1 repository (git init --object-format=sha1)", 2)
    refused = isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    if refused or _git_error(exc):
        gitdir = git_dir()
        why = _unwritable(gitdir) if gitdir is not None and gitdir.is_dir() else None
        if why is not None:
            return Reported(f"{gitdir} cannot be written ({why}); sggit keeps its genome and journal there"
                            f"\n  {type(exc).__name__}: {exc}", 1)
    exhausted = _exhausted(exc)
    if exhausted is not None:
        return exhausted
    if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT and exc.filename is not None:
        return Reported(f"{exc.filename}: {exc.strerror}", 1)
    return None


_REMEDY = {
    errno.EROFS: "run sggit where the repository is writable (not a read-only mount)",
    errno.ENOSPC: "free space on that filesystem and run the command again",
    errno.EDQUOT: "free space within your quota (or have it raised) and run the command again",
}


def _exhausted(exc: BaseException) -> Reported | None:
    """A write the filesystem refused (read-only, full, over quota): the machine's state, not sggit's bug.

    A write(2) that fails leaves no file name on the error, and pygit2 reports its own
    failed writes as a bare OSError (or GitError) whose message alone says why; so the reason is
    read from the errno or the message, and the path from the error, the message,
    or the repository's directories that are in that state now.
    """
    if not (isinstance(exc, OSError) or _git_error(exc)):
        return None
    text, number = str(exc), getattr(exc, "errno", None)
    code = number if number in _REMEDY else next((c for c in _REMEDY if os.strerror(c) in text), None)
    if code is None:
        return None
    import re

    quoted = re.search(r"'(/[^']+)'", text)  # a file libgit2 was creating: its directory is what refused
    path = getattr(exc, "filename", None) or (os.path.dirname(quoted.group(1)) if quoted else None) or _in_that_state(code)
    where = f"{path}: " if path is not None else ""
    return Reported(f"{where}{os.strerror(code)}\n  {type(exc).__name__}: {exc}\nhint: {_REMEDY[code]}", 1)


def _in_that_state(code: int) -> str | None:
    """The first of the directories sggit writes that is read-only or full now, as `code` says."""
    import tempfile
    from pathlib import Path

    gitdir = git_dir()
    candidates = [gitdir / "sggit", gitdir / "objects", gitdir] if gitdir is not None else []
    for directory in [*candidates, Path(tempfile.gettempdir())]:
        try:
            stat = os.statvfs(directory)
        except OSError:
            continue
        if (stat.f_flag & os.ST_RDONLY) if code == errno.EROFS else stat.f_bavail == 0:
            return str(directory)
    return None


def log_traceback(exc: BaseException) -> Path:
    """Write the traceback where the user can find it: the repository's log directory, else a temp dir."""
    import tempfile
    import time
    import traceback
    from pathlib import Path

    text = "".join(traceback.format_exception(exc))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    candidates = []
    gitdir = git_dir()
    if gitdir is not None:
        candidates.append(gitdir / "sggit" / "log")
    candidates.append(Path(tempfile.gettempdir()) / "sggit-log")
    last: OSError | None = None
    for directory in candidates:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{stamp}-{os.getpid()}.log"
            path.write_text(f"sggit {' '.join(sys.argv[1:])}\n\n{text}", encoding="utf-8")
            return path
        except OSError as failure:
            last = failure
    raise last or OSError("no directory to write a log in")


def exit_status(exc: BaseException) -> int:
    """Tell the user what `exc` means, on stderr, and return the exit status it ends the command with."""
    if isinstance(exc, BrokenPipeError):
        # the reader went away (`sggit status | head`): stop quietly, as git does
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream until exit
        return 141
    if isinstance(exc, KeyboardInterrupt):
        _say(f"sggit: interrupted: {exc}" if str(exc) else "sggit: interrupted")  # what a run undid, when it says
        return 130
    report = classify(exc)
    if report is not None:
        _say(f"sggit: error: {report.message}")
        return report.exit_code
    import traceback

    try:
        where = f"the traceback is in {log_traceback(exc)}"
    except OSError as log_exc:
        where = f"no log could be written ({log_exc}); traceback follows\n" + "".join(traceback.format_exception(exc))
    _say(f"sggit: unexpected error: {type(exc).__name__}: {exc}\n{where}\nplease report it with that file")
    return UNEXPECTED


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


@contextmanager
def error_handler() -> Iterator[None]:
    """Turn every exception of a click command into a message and an exit status."""
    import click

    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - this is the boundary
        raise click.exceptions.Exit(exit_status(exc)) from None
