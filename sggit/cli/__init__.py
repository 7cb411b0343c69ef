"""The `sggit` command line: a thin layer of click commands over the library.

Commands are named in the table `sggit.cli.commands.COMMANDS` and imported only
when one runs (or when help lists them), so starting sggit costs only the
command used; `sggit --version` is answered before click is even imported, and
so is a repeated `sggit status` whose inputs did not change (`fast_status`) and
a plain one whose inputs did (`full_status`).
Every command runs inside one error boundary (`sggit.cli.errors`).
"""

from __future__ import annotations

import sys

from sggit import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sggit.cli.group import cli as cli


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        sys.stdout.write(f"sggit, version {__version__}\n")  # the line click's version option prints
        return
    if sys.argv[1:2] == ["status"]:
        from sggit.cli import fast_status

        served = fast_status.serve(sys.argv[2:])
        if served is not None:
            sys.exit(served)
        plain = fast_status.options(sys.argv[2:])
        if plain is not None:
            from sggit.cli import full_status

            sys.exit(full_status.main(*plain))
    from sggit.cli.group import cli

    cli(prog_name="sggit", args=sys.argv[1:])


def __getattr__(name: str) -> object:
    if name == "cli":
        from sggit.cli.group import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
