"""`sggit ci check`, `sggit ci examples`, `sggit ci promote`: what a pipeline and the pre-commit hooks run."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sggit.app.ci import ci_check, examples_for_files, push_promotions, render_markdown, write_promotions


@click.group("ci")
def ci() -> None:
    """Commands a CI pipeline runs on a genome repository."""


@ci.command("check")
@click.option("--base", metavar="REF", help="Check what changed since REF (e.g. origin/main); default: everything.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--no-examples", is_flag=True, help="Only static checks; run no allele.")
def check_command(base: str | None, fmt: str, no_examples: bool) -> None:
    """Validate a pull request: contracts, genes, phenotypes, layout, examples, shadow replay.

    Exit 1 when anything blocking was found.
    """
    from sggit.runtime.session import project_root

    result = ci_check(project_root(), base, examples=not no_examples)
    if fmt == "json":
        click.echo(json.dumps(result.model_dump(mode="json") | {"ok": result.ok}, indent=2))
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        for f in result.findings:
            click.echo(f"{f.where}: {f.stage}: {f.message}" + ("" if f.blocking else " (not blocking)"))
        for s in result.stages:
            click.echo(f"{s.name}: {s.status} ({s.summary})", err=True)
    if not result.ok:
        raise SystemExit(1)


@ci.command("examples")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def examples_command(files: tuple[Path, ...]) -> None:
    """Run contract examples against the alleles FILES touch (seed files, or every allele of a changed contract).

    This is the `sggit-test` pre-commit hook. Exit 1 when an allele fails an example.
    """
    from sggit.runtime.session import project_root

    items, loci, failures = examples_for_files(project_root(), list(files))
    for f in failures:
        click.echo(f"{f.where}: {f.message}")
    click.echo(f"{len(items)} allele(s) at {len(loci)} locus/loci, {len(failures)} failing example(s)", err=True)
    if failures:
        raise SystemExit(1)


@ci.command("promote")
@click.option("--phenotype", "phenotypes", multiple=True, help="Only this phenotype (repeatable; default: all).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("sggit-promotions"), show_default=True, help="Where to write PR bodies and promotions.json.")
@click.option("--push", "remote", metavar="REMOTE", help="Push each promotion branch to REMOTE (force-with-lease: a newer promotion replaces the branch).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def promote_command(phenotypes: tuple[str, ...], out: Path, remote: str | None, fmt: str) -> None:
    """Write promotion branches with their pull-request bodies, for a bot to open as pull requests.

    Leaves OUT/promotions.json (branch, base, title, body_file per promotion) and one
    OUT/<phenotype>__<locus>.md body each; see docs/ci/ for the jobs that open the PRs.
    """
    from sggit.fsutil import atomic_write_text
    from sggit.runtime.session import project_root

    root = project_root()
    files = write_promotions(root, list(phenotypes), out)
    if remote:
        push_promotions(root, remote, files)
    atomic_write_text(out / "promotions.json", json.dumps([f.model_dump() for f in files], indent=2) + "\n")
    if fmt == "json":
        click.echo(json.dumps([f.model_dump() for f in files], indent=2))
        return
    if not files:
        click.echo("no pending promotion")
    for f in files:
        click.echo(f"{f.title}\n  {f.branch} -> {f.base} at {f.commit[:12]}" + (f" (pushed to {remote})" if f.pushed else ""))


COMMANDS = [ci]
