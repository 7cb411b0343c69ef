"""`sggit gc`: remove deprecated, unexpressed, unrelated old alleles from the genome tree, and pack."""

from __future__ import annotations

import json

import click

from sggit.runtime.session import project_root


@click.command("gc")
@click.option("--older-than", metavar="DURATION", default=None,
              help="Keep alleles younger than this (14d, 12h...; default: git config sggit.gc.olderThan, else 14d).")
@click.option("--dry-run", is_flag=True, help="List what would be removed; change nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def gc_command(older_than: str | None, dry_run: bool, fmt: str) -> None:
    """Remove deprecated alleles that no phenotype expresses and no active allele descends from.

    Their blobs stay in history (the removal is one commit on sggit/genome); loose objects are packed.
    """
    from dataclasses import asdict

    from sggit.app.gc import configured_age, gc
    from sggit.genome.repo import Genome

    genome = Genome.open(project_root())
    report = gc(genome, older_than=configured_age(genome, older_than), dry_run=dry_run)
    if fmt == "json":
        click.echo(json.dumps(asdict(report), indent=2))
    else:
        for line in report.lines():
            click.echo(line)

