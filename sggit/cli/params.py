"""Click parameter types and options shared by several commands."""

from __future__ import annotations

import math

import click

MAX_SECONDS = 86_400.0
"""A day. A wait longer than that is a typo (`--timeout 9999999999`), not a plan, and a
deadline years away overflows the system calls that sleep until it."""


class Seconds(click.ParamType):
    """A positive, finite number of seconds, at most `maximum`: `nan`, `inf`, zero, negatives
    and absurd waits are usage errors, refused before anything runs."""

    name = "seconds"

    def __init__(self, maximum: float = MAX_SECONDS) -> None:
        self.maximum = maximum

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a positive, finite number of seconds", param, ctx)
        if seconds > self.maximum:
            self.fail(f"{value!r} seconds is more than the {self.maximum:g} s (a day) sggit waits at most", param, ctx)
        return seconds


SECONDS = Seconds()


FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
