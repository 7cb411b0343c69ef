"""One sggit command run inside this process, its output captured: how the demos narrate the CLI.

The demos show what a user would type and see, without paying a process start
per step; both stories go through here so they capture output and exit codes
the same way.
"""

from __future__ import annotations

import contextlib
import io
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Captured:
    code: int
    stdout: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def command_line(*args: str) -> str:
    return "$ sggit " + " ".join(shlex.quote(a) for a in args)


def run_captured(root: Path, *args: str) -> Captured:
    """`sggit -C root ARGS...` as the user types it; stdout is kept, stderr (progress, warnings) passes through."""
    from sggit.cli.group import cli

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            # Outside standalone mode click returns a command's exit code instead of raising it.
            returned = cli.main(args=["-C", str(root), *args], prog_name="sggit", standalone_mode=False)
            code = returned if isinstance(returned, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Captured(code, buffer.getvalue())
