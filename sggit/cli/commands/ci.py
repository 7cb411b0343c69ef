"""`sggit ci check`, `sggit ci examples`, `sggit ci promote`: what a pipeline and the pre-commit hooks run."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sggit.app.ci import check_at, examples_for_files, push_promotions, render_markdown, render_text, write_promotions
from sggit.cli.usage import Subgroup


@click.group("ci", cls=Subgroup)
def ci() -> None:
    """Commands a CI pipeline runs on a genome repository."""


@ci.command("check")
@click.option("--base", metavar="REF", help="Check what changed since REF (e.g. origin/main); default: everything.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--no-examples", is_flag=True, help="Only static checks; run no allele.")
@click.option("--main", "main", metavar="REF", help="Contracts for a promotion branch come from REF (default: the genome's main branch, fetched if needed).")
def check_command(base: str | None, fmt: str, no_examples: bool, main: str | None) -> None:
    """Validate a pull request: contracts, genes, phenotypes, layout, examples, shadow replay.

    On a promotion branch (only phenotypes/ checked out) the phenotype change is
    checked against the contracts and alleles of the genome's main branch.
    Exit 0 when nothing blocks, 1 when something does, 2 on bad usage.
    """
    result = check_at(Path.cwd(), base, examples=not no_examples, main=main)
    if fmt == "json":
        click.echo(json.dumps(result.model_dump(mode="json") | {"ok": result.ok}, indent=2))
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        click.echo(render_text(result), nl=False)
        if result.contracts_from:
            click.echo(f"promotion branch: contracts from {result.contracts_from}", err=True)
        for s in result.stages:
            click.echo(f"{s.name}: {s.status} ({s.summary})", err=True)
    if not result.ok:
        raise SystemExit(1)


@ci.command("examples")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def examples_command(files: tuple[Path, ...], fmt: str) -> None:
    """Run contract examples against the alleles FILES touch (seed files, or every allele of a changed contract).

    This is the `sggit-test` pre-commit hook. Exit 1 when an allele fails an example,
    0 otherwise (also when the contracts do not check: `sggit check` reports that).
    """
    from sggit.runtime.session import project_root

    found = examples_for_files(project_root(), list(files))
    if found is None:
        if fmt == "json":
            click.echo(json.dumps({"skipped": "contracts do not check", "alleles": 0, "loci": [], "findings": []}, indent=2))
        click.echo("examples skipped: the contracts do not check (`sggit check` reports where)", err=True)
        return
    items, loci, failures = found
    if fmt == "json":
        click.echo(json.dumps({"skipped": None, "alleles": len(items), "loci": sorted(loci), "findings": [f.model_dump() for f in failures]}, indent=2))
        if failures:
            raise SystemExit(1)
        return
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
    Exit 2 when REMOTE is neither a configured remote nor a URL or path.
    """
    from sggit.fsutil import atomic_write_text
    from sggit.runtime.session import project_root

    root = project_root()
    if remote:
        from sggit.genome.gitproc import require_remote
        from sggit.genome.repo import Genome

        require_remote(Genome.open(root).git_dir, remote)  # before any branch is written for a remote that is a typo
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
        state = "unchanged since the last run" if f.unchanged else "new commit"
        click.echo(f"{f.title}\n  {f.branch} -> {f.base} at {f.commit[:12]}: {state}" + (f", on {remote}" if f.pushed else ""))


