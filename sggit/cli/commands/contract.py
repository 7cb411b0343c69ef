"""`sggit check` and `sggit fmt`: the contract tooling."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import click

from sggit.fsutil import atomic_write_text
from sggit.project import CONTRACTS_DIR, GENOME_DIR, PHENOTYPES_DIR, CheckReport, check_paths, find_root, format_paths

_PATHS = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))


def _default_paths() -> list[Path]:
    root = find_root(Path.cwd())
    if root is None:
        raise click.UsageError("no PATH given and no contracts/ directory here or above")
    return [p for p in (root / CONTRACTS_DIR, root / PHENOTYPES_DIR, root / GENOME_DIR) if p.is_dir()]


def _from_here(report: CheckReport) -> CheckReport:
    """The files of a check that found the project itself, named from here as git names them
    (`contracts/genes/...` at the top, `bridge_stp.sg` in `contracts/genes/`); only for showing."""
    import dataclasses
    import os

    def here(path: str) -> str:
        return os.path.relpath(path) if os.path.isabs(path) else path

    return dataclasses.replace(report, files=[here(f) for f in report.files],
                               diagnostics=[dataclasses.replace(d, path=here(d.path)) for d in report.diagnostics])


@click.command()
@click.option("--syntax-only", is_flag=True, help="Parse only; do not resolve names across the genome.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_PATHS
def check(syntax_only: bool, fmt: str, paths: tuple[Path, ...]) -> None:
    """Check contracts (.sg), phenotype files (.toml) and seed alleles (genome/<locus>/*.py).

    Directories are searched recursively. A contract is checked together with the
    contracts/ tree of its project, so its references resolve. Exit 1 when
    anything is invalid.
    """
    report = check_paths(list(paths), syntax_only=syntax_only) if paths else _from_here(check_paths(_default_paths(), syntax_only=syntax_only))
    if fmt == "json":
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        for diag in report.diagnostics:
            click.echo(diag.render())
        n_files = len(report.files)
        summary = f"{n_files} file{'s' if n_files != 1 else ''} checked"
        if report.errors:
            summary += f", {len(report.errors)} error{'s' if len(report.errors) != 1 else ''}"
        click.echo(summary, err=True)
    if not report.ok:
        raise SystemExit(1)


@click.command("fmt")
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 and list the files that would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the changes as a unified diff instead of writing.")
@click.option("--leave-broken", is_flag=True, help="Name files that do not parse and go on, without their errors (the check hook reports them).")
@_PATHS
def fmt_command(check_only: bool, show_diff: bool, leave_broken: bool, paths: tuple[Path, ...]) -> None:
    """Rewrite .sg files in the canonical layout (aligned columns, two-space indent).

    A file that does not parse is never rewritten. Exit 1 when a file does not
    parse (unless --leave-broken) or, with --check/--diff, when one would change.
    """
    targets = list(paths) or [p for p in _default_paths() if p.name == CONTRACTS_DIR]
    results = format_paths(targets)
    changed = [r for r in results if r.changed]
    for item in changed:
        if show_diff:
            diff = difflib.unified_diff(item.original.splitlines(True), item.formatted.splitlines(True), str(item.path), f"{item.path} (formatted)")
            click.echo("".join(diff), nl=False)
        elif check_only:
            click.echo(f"would reformat {item.path}")
        else:
            atomic_write_text(item.path, item.formatted)
            click.echo(f"reformatted {item.path}")
    broken = [r for r in results if r.error is not None]
    for item in broken:
        click.echo(f"left {item.path} as it is: it does not parse (`sggit check` shows where)" if leave_broken else str(item.error), err=True)
    if leave_broken:
        broken = []
    verb = "would be reformatted" if (check_only or show_diff) else "reformatted"
    click.echo(f"{len(changed)} of {len(results)} file{'s' if len(results) != 1 else ''} {verb}", err=True)
    if broken or ((check_only or show_diff) and changed):
        raise SystemExit(1)


