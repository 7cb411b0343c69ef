"""The `sggit` command line: a thin layer of click commands over the library.

Commands live one area per module in `sggit.cli.commands`; each module lists its
click commands in `COMMANDS`, and the group below collects them, so adding a
command never means editing a shared file.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import click

from sggit import __version__
from sggit.cli import commands as _commands_pkg
from sggit.contract.errors import ContractError
from sggit.errors import SggitError


class _Group(click.Group):
    """Turns user-facing errors into a message and an exit code instead of a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (SggitError, ContractError) as exc:
            click.echo(f"sggit: error: {exc}", err=True)
            ctx.exit(getattr(exc, "exit_code", 1))
        except KeyboardInterrupt:
            click.echo("sggit: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sggit")
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False),
    default=None,
    help="Run as if sggit was started in DIR (like git -C).",
)
@click.option("--progress/--no-progress", default=None, help="Progress of long work on stderr (default: only on a terminal).")
def cli(directory: str | None, progress: bool | None) -> None:
    """sggit: genes compete at typed loci; the genome lives in git."""
    if progress is not None:
        os.environ["SGGIT_PROGRESS"] = "1" if progress else "0"
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError as exc:
            raise click.UsageError(f"cannot change to {directory}: {exc.strerror}") from None


def _load_commands() -> None:
    for info in sorted(pkgutil.iter_modules(_commands_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_commands_pkg.__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


_load_commands()


def main() -> None:
    cli(prog_name="sggit", args=sys.argv[1:])
