"""`sggit completion bash|zsh|fish`: the shell completion script for sggit."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL; e.g. `eval "$(sggit completion bash)"` in ~/.bashrc.

    For zsh: `eval "$(sggit completion zsh)"` in ~/.zshrc; for fish:
    `sggit completion fish > ~/.config/fish/completions/sggit.fish`. Exit 0.
    """
    from sggit.cli import cli

    cls = get_completion_class(shell)
    assert cls is not None  # the choice above lists only shells click knows
    click.echo(cls(cli, {}, "sggit", "_SGGIT_COMPLETE").source())

