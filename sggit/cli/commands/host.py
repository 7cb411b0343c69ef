"""`sggit host cycle`: what the shipped systemd timer runs on a deployed host."""

from __future__ import annotations

import json

import click

from sggit.app.host import host_cycle
from sggit.cli.usage import Subgroup


@click.group("host", cls=Subgroup)
def host() -> None:
    """Host mode: scheduled checks, sync and push on a deployed host (contrib/systemd/)."""


@host.command("cycle")
@click.option("--phenotype", required=True, help="The phenotype deployed on this host.")
@click.option("--remote", default="origin", show_default=True, help="Where to push fitness and phenotypes.")
@click.option("--no-push", is_flag=True, help="Only check and sync.")
@click.option("--kernel", type=click.Choice(["mock", "netlink"]), default="netlink", show_default=True)
@click.option("--netns", help="Network namespace for the netlink kernel.")
@click.option("--force", is_flag=True, help="Run even if the phenotype's host_interval has not passed.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def cycle_command(phenotype: str, remote: str, no_push: bool, kernel: str, netns: str | None, force: bool, fmt: str) -> None:
    """Re-run every deployed pathway's checks, run due verify checks, then sync and push.

    Runs at most once per `[settings] host_interval` of the phenotype (default 5m).
    Exit 0 when healthy or not due, 1 when a check is unhealthy or the push met a
    conflict, 2 on bad usage.
    """
    from sggit.runtime.session import project_root

    result = host_cycle(project_root(), phenotype, remote=None if no_push else remote, kernel=kernel, netns=netns, force=force)
    if fmt == "json":
        click.echo(json.dumps(result.model_dump(mode="json") | {"healthy": result.healthy}, indent=2))
    elif not result.ran:
        click.echo(f"{phenotype}: not due; next cycle in {result.next_in_seconds:.0f}s (host_interval {result.interval_seconds:.0f}s)")
    else:
        for row in result.watched:
            click.echo(f"{row['target']} {json.dumps(row['input'], sort_keys=True)}: {'healthy' if row['healthy'] else 'UNHEALTHY'}")
        for r in result.verified:
            click.echo(f"verify {r['target']}: {r['status']}")
        click.echo(f"synced {result.synced_records} record(s); pushed {len(result.pushed)} ref(s)" + (" (no push)" if no_push else f" to {remote}"))
        for ref in result.conflicts:
            click.echo(f"sggit: conflict: {ref}; see `sggit pull {remote}`", err=True)
    if result.ran and (not result.healthy or result.conflicts):
        raise SystemExit(1)

