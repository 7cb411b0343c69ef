"""Progress lines on stderr for long work, and whether to colour output.

Progress shows on a terminal and stays out of logs and pipes unless asked for
(`sggit --progress`); colour follows the terminal and the NO_COLOR convention.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

ENV = "SGGIT_PROGRESS"


def enabled() -> bool:
    forced = os.environ.get(ENV)
    if forced is not None:
        return forced == "1"
    return sys.stderr.isatty()


def colour() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return not os.environ.get("NO_COLOR") and sys.stdout.isatty()


@contextmanager
def step(message: str) -> Iterator[None]:
    """`sggit: MESSAGE ...` before long work and `... done (Ns)` after, on stderr, when enabled."""
    if not enabled():
        yield
        return
    click.echo(f"sggit: {message} ...", err=True)
    started = time.monotonic()
    try:
        yield
    except BaseException:
        click.echo(f"sggit: {message}: stopped", err=True)
        raise
    click.echo(f"sggit: {message}: done ({time.monotonic() - started:.1f}s)", err=True)
