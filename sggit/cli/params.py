"""Click parameter types and options shared by several commands."""

from __future__ import annotations

import math

import click


class Seconds(click.ParamType):
    """A positive, finite number of seconds: `nan`, `inf`, zero and negatives are usage errors."""

    name = "seconds"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a positive, finite number of seconds", param, ctx)
        return seconds


SECONDS = Seconds()


FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)

