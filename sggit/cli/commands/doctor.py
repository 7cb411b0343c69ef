"""`sggit doctor`: what this host supports, each item ok or missing and why."""

from __future__ import annotations

import json

import click

from sggit.doctor import run_checks


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def doctor(fmt: str, as_json: bool) -> None:
    """Report what this host supports: namespaces, sandbox features, kernel features.

    Exit 1 when anything is missing, so scripts and CI can tell.
    """
    checks = run_checks()
    if as_json or fmt == "json":
        click.echo(json.dumps([check.model_dump() for check in checks], indent=2))
    else:
        width = max((len(check.name) for check in checks), default=0)
        for check in checks:
            status = click.style("ok     ", fg="green") if check.ok else click.style("MISSING", fg="red")
            click.echo(f"{status}  {check.name.ljust(width)}  {check.detail}")
        missing = sum(not check.ok for check in checks)
        click.echo(f"\n{len(checks) - missing} ok, {missing} missing")
    if any(not check.ok for check in checks):
        click.get_current_context().exit(1)


