"""`sggit watch` and `sggit verify`: diagnostics after the fact, scored as resilience or convergence."""

from __future__ import annotations

import json
from typing import Any

import click

from sggit.cli.options import kernel_option, netns_option
from sggit.errors import UsageError
from sggit.runtime.session import open_organism
from sggit.runtime.temporal import parse_duration


def _line(row: dict[str, Any]) -> str:
    state = "healthy" if row["healthy"] else "UNHEALTHY"
    bad = [c["summary"] for c in row["checks"] if not c["healthy"]]
    return f"round {row['round']} t={row['clock']:.1f} {row['target']} {json.dumps(row['input'], sort_keys=True)}: {state}" + (f" ({'; '.join(bad)})" if bad else "")


@click.command()
@click.argument("target")
@click.option("--every", "every_text", default="60s", show_default=True, metavar="DURATION", help="Time between rounds (30s, 5m, 1h); the mock kernel's clock moves instead of sleeping.")
@click.option("--count", type=int, default=1, show_default=True, help="Number of rounds.")
@click.option("--phenotype", help="Phenotype (default: the only one).")
@kernel_option
@netns_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
def watch(target: str, every_text: str, count: int, phenotype: str | None, kernel: str | None, netns: str | None, fmt: str, as_json: bool) -> None:
    """Re-run the diagnostics of deployed TARGET (a pathway or locus run before) and score resilience.

    Each unhealthy result lowers the fitness of the allele that produced the state it
    judged. Exit 0 when the last round of every deployment is healthy, 1 when one
    is unhealthy, 2 on bad usage (TARGET never deployed).
    """
    as_json = as_json or fmt == "json"
    if count < 1:
        raise UsageError("--count must be at least 1")
    every = parse_duration(every_text)
    with open_organism(phenotype=phenotype, kernel=kernel, netns=netns) as organism:
        rows = organism.watch(target, every, count, on_round=None if as_json else lambda row: click.echo(_line(row)))
        events = list(organism.events)
    if as_json:
        click.echo(json.dumps({"rounds": rows, "events": events}, indent=2, sort_keys=True, allow_nan=False))
    else:
        for event in events:
            click.echo(f"  * {event}")
    last = rows[-len({json.dumps(r["input"], sort_keys=True) for r in rows}):]
    if not all(r["healthy"] for r in last):
        raise SystemExit(1)


@click.command()
@click.option("--due", "due", is_flag=True, required=True, help="Run the verify checks `sggit run --no-wait` recorded, once their window has passed.")
@click.option("--wait", is_flag=True, help="On a real kernel, sleep until each check is due instead of leaving it for later.")
@click.option("--phenotype", help="Phenotype (default: the only one).")
@kernel_option
@netns_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
def verify(due: bool, wait: bool, phenotype: str | None, kernel: str | None, netns: str | None, fmt: str, as_json: bool) -> None:
    """Run due verify checks and score their convergence (the mock kernel's clock moves to each due time).

    Exit 0 when every check that ran is healthy (or none was due), 1 when any is
    unhealthy, 2 on bad usage.
    """
    as_json = as_json or fmt == "json"
    with open_organism(phenotype=phenotype, kernel=kernel, netns=netns) as organism:
        reports = organism.verify_due(wait=wait)
        events = list(organism.events)
    if as_json:
        click.echo(json.dumps({"checks": reports, "events": events}, indent=2, sort_keys=True, allow_nan=False))
    else:
        if not reports:
            click.echo("no verify checks are due")
        for r in reports:
            who = f"{r['target']} {r['allele'][:7]}" if r.get("allele") else r["target"]
            click.echo(f"{who}: {r['status']}" + (f" in {r['in_seconds']}s" if "in_seconds" in r else ""))
            for check in r.get("checks", []):
                click.echo(f"  {check['summary']}")
        for event in events:
            click.echo(f"  * {event}")
    if any(r["status"] == "unhealthy" for r in reports):
        raise SystemExit(1)


