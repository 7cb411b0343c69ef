"""A bad option or argument, said the way sggit says every other mistake.

Click words a usage error as its usage block; sggit says `sggit: error: ...`, a
hint naming the command's `--help`, exit 2. Some errors (an option missing its
value) come without a click context, so whoever catches them names the command
they were meant for: the top group for its subcommands, each nested group
(`sggit kernel`, `sggit ci`, ...) for its own.
"""

from __future__ import annotations

import click


def said_as_sggit(exc: click.UsageError, command: str) -> click.UsageError:
    """`exc`, shown as `sggit: error: ...` with a hint; `command` names where it was given when click did not."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError) or getattr(exc, "sggit_command", None):
        return exc  # `sggit` alone: the help is the answer; or a nested group named its command first
    exc.sggit_command = command  # type: ignore[attr-defined]

    def show(file: object = None) -> None:
        where = exc.ctx.command_path if exc.ctx is not None else command
        click.echo(f"sggit: error: {exc.format_message()}\nhint: see `{where} --help`", err=True)

    exc.show = show  # type: ignore[method-assign]
    return exc


def invoked(ctx: click.Context) -> str:
    """The command line's command as far as `ctx` resolved it: `sggit kernel call`."""
    return " ".join(filter(None, [ctx.command_path, ctx.invoked_subcommand]))


class Subgroup(click.Group):
    """A nested group (`sggit kernel`): a usage error in one of its commands names that command."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if exc.ctx is None:
                raise said_as_sggit(exc, invoked(ctx)) from None
            raise
