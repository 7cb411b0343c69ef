"""`sggit push` and `sggit pull`: fleet sync of the genome through a git remote."""

from __future__ import annotations

import json

import click

from sggit.app.join import phenotype_of, resolve
from sggit.cli.progress import step
from sggit.genome.fleet import SyncReport, pull, push
from sggit.genome.repo import Genome


def _short(ref: str) -> str:
    return ref.removeprefix("refs/heads/").removeprefix("refs/notes/")


def _print(report: SyncReport, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.model_dump(mode="json") | {"ok": report.ok}, indent=2))
    else:
        for c in report.fetched:
            click.echo(f"  {c.action:<12} {_short(c.ref)}  {(c.old or '')[:7]}..{c.new[:7]}")
        for c in report.pushed:
            click.echo(f"  {'pushed':<12} {_short(c.ref)}  {c.new[:7]}")
        if not report.fetched and not report.pushed and report.ok:
            click.echo(f"up to date with {report.remote}")
    for conflict in report.conflicts:
        click.echo(f"sggit: conflict: {_short(conflict.ref)}: local {conflict.local[:7]}, {report.remote} {conflict.remote[:7]}", err=True)
        click.echo(f"  hint: {conflict.hint}", err=True)
        name = phenotype_of(conflict.ref)
        if name is not None:
            click.echo(f"  resolve: sggit resolve --phenotype {name} --prefer ours|theirs [LOCUS...] --remote {report.remote}, then sggit push {report.remote}", err=True)
    for ref in report.rejected:
        click.echo(f"sggit: {report.remote} rejected {_short(ref)} (it kept moving); run sggit push again", err=True)
    if not report.ok:
        raise SystemExit(1)


_REMOTE = click.argument("remote", default="origin")
_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)


@click.command("push")
@_REMOTE
@_FORMAT
def push_command(remote: str, fmt: str) -> None:
    """Share this host's genome, lineage, fitness, mutations and phenotypes with REMOTE.

    Pulls first and pushes fast-forwards only, so no other host's data is ever
    overwritten. Exit 1 when a phenotype changed on both sides (reported, left alone),
    the remote refused the push or could not be reached; 2 when REMOTE is neither a
    configured remote nor a URL or path.
    """
    with step(f"pushing to {remote}"):
        report = push(Genome.open("."), remote)
    _print(report, fmt)


@click.command("pull")
@_REMOTE
@_FORMAT
def pull_command(remote: str, fmt: str) -> None:
    """Bring in the fleet's alleles, lineage, fitness, mutations and phenotypes from REMOTE.

    Exit 1 when a phenotype changed on both sides (reported, left alone) or the remote
    could not be reached; 2 when REMOTE is neither a configured remote nor a URL or path.
    """
    with step(f"pulling from {remote}"):
        report = pull(Genome.open("."), remote)
    _print(report, fmt)


@click.command("resolve")
@click.option("--phenotype", required=True, help="The phenotype changed here and on the remote.")
@click.option("--prefer", type=click.Choice(["ours", "theirs"]), required=True, help="Whose change to keep where both changed a locus.")
@click.option("--remote", default="origin", show_default=True)
@click.argument("loci", nargs=-1, metavar="[LOCUS...]")
@_FORMAT
def resolve_command(phenotype: str, prefer: str, remote: str, loci: tuple[str, ...], fmt: str) -> None:
    """Settle a phenotype conflict `sggit pull` reported, as one merge commit on phenotype/NAME.

    Where both sides changed a locus (or pathway, binding), PREFER's version is
    kept; every other change of both sides is merged as `pull` would. With LOCUS
    names, every conflicting one must be named. Then `sggit push` shares the result.
    Exit 0 when resolved, 2 when there is nothing to resolve or a name is wrong.
    """
    result = resolve(Genome.open("."), phenotype, prefer, list(loci) or None, remote)  # type: ignore[arg-type]
    if fmt == "json":
        click.echo(json.dumps(result.model_dump(), indent=2))
        return
    click.echo(f"phenotype/{phenotype}: resolved with {remote} as {result.commit[:12]}")
    for key, side in result.chosen.items():
        click.echo(f"  {key}: {'kept ours' if side == 'ours' else f'took {remote}'}")
    click.echo(f"next: sggit push {remote}")

