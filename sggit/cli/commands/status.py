"""The click command of `sggit status`, for the command lines `sggit.cli.main` does not run itself (`-C`, `--help`).

What it renders and keeps is `sggit.cli.full_status`'s, the one renderer.
"""

from __future__ import annotations

import click

from sggit.cli import full_status
from sggit.cli.params import FORMAT


@click.command("status")
@click.option("--phenotype", default=None, help="Only this phenotype.")
@FORMAT
def status_command(phenotype: str | None, fmt: str) -> None:
    """Per locus: dominant allele, fallback depth, fitness, invocations, last failure."""
    full_status.show(phenotype, fmt)
