"""`sggit report`: the genome as a static HTML page or as markdown for a CI summary."""

from __future__ import annotations

from pathlib import Path

import click

from sggit.genome.repo import Genome
from sggit.report.html import build_report, render_markdown, write_report


@click.command("report")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Directory to write into (default: sggit-report/; with markdown, stdout).")
@click.option("--format", "fmt", type=click.Choice(["html", "markdown"]), default="html", show_default=True)
@click.option("--phenotype", "phenotypes", multiple=True, help="Only this phenotype (repeatable).")
def report_command(out: Path | None, fmt: str, phenotypes: tuple[str, ...]) -> None:
    """Write a static report: alleles with fitness and state per locus, lineage graphs, fitness charts,
    recent failures and mutations, phenotype history. Needs no network to view.
    """
    genome = Genome.open(".")
    if fmt == "markdown" and out is None:
        click.echo(render_markdown(build_report(genome, list(phenotypes) or None)), nl=False)
        return
    target = write_report(genome, out or Path("sggit-report"), fmt, list(phenotypes) or None)
    click.echo(str(target))


