"""Click parameter types and options shared by several commands, and how they print alleles and times."""

from __future__ import annotations

import math
import time

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


def short(allele: str | None) -> str:
    from sggit.genome.views import SHORT

    return allele[:SHORT] if allele else "-"


def ago(t: float | None) -> str:
    if not t:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(t))
