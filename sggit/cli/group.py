"""The click group: commands loaded from the table when asked for, run inside the error boundary.

A command other than status ends by rendering anew the kept status outputs it
made stale (`sggit.cli.full_status.refresh`), so the next status is as
cheap after a change made through sggit as after none.
"""

from __future__ import annotations

import importlib
import os

import click

from sggit import __version__
from sggit.cli.commands import COMMANDS
from sggit.cli.errors import error_handler
from sggit.cli.usage import invoked, said_as_sggit


class _Group(click.Group):
    """Commands loaded from the table when asked for, run inside the error boundary."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(f"sggit.cli.commands.{module}"), attribute)
        self.commands[cmd_name] = command
        return command

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra):  # type: ignore[no-untyped-def]
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise said_as_sggit(exc, info_name or "sggit") from None

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        environ = dict(os.environ)
        interrupted = False
        try:
            with error_handler():
                return super().invoke(ctx)
        except click.UsageError as exc:
            raise said_as_sggit(exc, invoked(ctx)) from None
        except click.exceptions.Exit as exc:
            interrupted = exc.exit_code == 130
            raise
        except click.exceptions.Abort:
            interrupted = True
            raise
        finally:
            # Whatever else ran may have changed what status reads: keep its answer current.
            if not interrupted and ctx.invoked_subcommand not in (None, "status"):
                from sggit.cli.full_status import refresh

                refresh(environ)


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
