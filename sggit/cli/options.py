"""Options shared by several commands, with choices read from the registries they name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from sggit.cli.params import SECONDS
from sggit.kernel import kinds


class RegistryChoice(click.Choice):
    """A choice whose names are read from a registry when used, so a kind registered
    after the command was defined (a plugin, a test) is accepted and listed."""

    def __init__(self, names: Callable[[], Sequence[str]]) -> None:
        self._names = names
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> Sequence[str]:
        return tuple(self._names())

    @choices.setter
    def choices(self, value: Any) -> None:
        pass


kernel_option = click.option(
    "--kernel", type=RegistryChoice(kinds.names), default=None,
    help="Kernel kind the genes act on (default: the first of the phenotype's domain, mock for network).",
)
netns_option = click.option("--netns", help="Network namespace for the netlink kernel.")
timeout_option = click.option(
    "--timeout", type=SECONDS, default=None,
    help="Seconds one allele may run, at most a day (default: 5 on a simulated kernel, 30 on a real one, where monitoring takes real time).",
)
