"""`sggit plan` and `sggit deploy`: a topology's resources against what the kernel has."""

from __future__ import annotations

import json

import click

from sggit.cli.commands.run import status_line
from sggit.cli.options import kernel_option, netns_option, timeout_option
from sggit.runtime.session import open_organism
from sggit.runtime.topology import DeployReport, Plan

_MARK = {"create": "+", "change": "~", "unchanged": "=", "unsupported": "!", "blocked": "!"}


def render_plan(plan: Plan) -> str:
    lines = [f"topology {plan.topology} for phenotype {plan.phenotype}:"]
    for change in plan.changes:
        inv = change.invocation
        lines.append(f"  {_MARK[change.action]} {inv.key:<18} {change.action:<11} {inv.pathway}: {change.reason}")
    counts = plan.counts()
    lines.append("  " + ", ".join(f"{counts.get(a, 0)} {a}" for a in ("create", "change", "unchanged", "unsupported", "blocked") if counts.get(a)))
    return "\n".join(lines)


def render_report(report: DeployReport) -> str:
    lines = [f"deploy {report.topology} for {report.phenotype}: {report.status}"]
    for r in report.resources:
        lines.append(f"  {r.key:<18} {status_line(r.status, r.error)}")
    for c in report.checks:
        args = " ".join(f"{k}={v}" for k, v in c.input.items())
        lines.append(f"  verify {c.locus} {args}: {c.status}" + (f" - {c.detail}" if c.detail else ""))
    lines.extend(f"  ROLLBACK FAILED: {e}" for e in report.rollback_errors)
    if report.status != "ok" and report.policies:
        lines.append("  on failure: " + ", ".join(report.policies))
    return "\n".join(lines)


_kernel = kernel_option
_netns = netns_option
_phenotype = click.option("--phenotype", help="Phenotype whose bindings fill the topology (default: the only one).")
_format = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)


@click.command("plan")
@click.argument("topology")
@_phenotype
@_kernel
@_netns
@_format
def plan_command(topology: str, phenotype: str | None, kernel: str | None, netns: str | None, fmt: str) -> None:
    """Show what deploying TOPOLOGY would create, change or leave alone; changes nothing."""
    from sggit.runtime.topology import plan_on

    with open_organism(phenotype=phenotype, kernel=kernel, netns=netns, target=topology) as organism:
        plan = plan_on(organism, topology)
    click.echo(json.dumps(plan.model_dump(mode="json"), indent=2) if fmt == "json" else render_plan(plan))


@click.command("deploy")
@click.argument("topology")
@_phenotype
@_kernel
@_netns
@_format
@timeout_option
@click.option("--no-wait", is_flag=True, help="Run the verify checks without waiting for the `within` window.")
@click.option("--progress/--no-progress", default=None, help="Verify progress on stderr (default: only on a terminal).")
def deploy_command(topology: str, phenotype: str | None, kernel: str | None, netns: str | None, fmt: str, timeout: float | None, no_wait: bool, progress: bool | None) -> None:
    """Create what TOPOLOGY lacks, verify it, and apply its failure policy.

    Exit 0 when everything deployed and verified, 1 otherwise (the report says what failed).
    """
    from sggit.cli.progress import step
    from sggit.kernel.kinds import kind_of
    from sggit.runtime.topology import deploy_on

    with open_organism(phenotype=phenotype, kernel=kernel, netns=netns, timeout=timeout, wait_verify=not no_wait, progress=progress,
                       target=topology) as organism:
        with step(f"deploying {topology} on {organism.phenotype_name} ({kind_of(organism.kernel).name} kernel)"):
            _, report = deploy_on(organism, topology)
    click.echo(json.dumps(report.model_dump(mode="json"), indent=2) if fmt == "json" else render_report(report))
    if report.status != "ok":
        raise SystemExit(1)


