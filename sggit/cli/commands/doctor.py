"""`sggit doctor`: what this host supports, each item ok or missing and why."""

from __future__ import annotations

import json

import click

from sggit.cli.progress import colour
from sggit.doctor import Check, run_checks


def echo_checks(checks: list[Check]) -> None:
    """One line per check, then the count: how doctor and `kernel features` both print what they found."""
    width = max((len(check.name) for check in checks), default=0)
    for check in checks:
        if check.ok:
            status = click.style("ok     ", fg="green")
        else:
            status = click.style("absent ", fg="yellow") if check.optional else click.style("MISSING", fg="red")
        click.echo(f"{status}  {check.name.ljust(width)}  {check.detail}" + (" (optional)" if check.optional and not check.ok else ""), color=colour())
    missing = sum(not check.ok and not check.optional for check in checks)
    optional = sum(not check.ok and check.optional for check in checks)
    click.echo(f"\n{len(checks) - missing - optional} ok, {missing} missing" + (f", {optional} optional not available" if optional else ""))


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
def doctor(fmt: str, as_json: bool) -> None:
    """Report what this host supports: namespaces, sandbox features, kernel features.

    Exit 0 when everything sggit needs is there (optional link types such as bond
    or vlan may be missing: genes needing them are reported unsupported), 1 when
    something sggit needs is missing.
    """
    checks = run_checks()
    if as_json or fmt == "json":
        click.echo(json.dumps([check.model_dump() for check in checks], indent=2))
    else:
        echo_checks(checks)
    if any(not check.ok and not check.optional for check in checks):
        click.get_current_context().exit(1)


