"""`sggit run`: express a locus or pathway of a phenotype on a kernel."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sggit.cli.options import kernel_option, netns_option
from sggit.engines.registry import ENGINE_NAMES
from sggit.runtime.organism import RunResult
from sggit.runtime.session import engine_for, open_organism, read_input


def explain(result: RunResult) -> str:
    lines = [f"{result.kind} {result.target}: {'ok' if result.ok else 'FAILED'}"]
    if result.pathway is not None:
        for step in result.pathway.steps:
            mark = {"ok": "ok", "failed": "FAILED", "skipped": "skipped", "not_run": "not run"}[step.status]
            extra = " (rolled back)" if step.rolled_back else ""
            lines.append(f"  step {step.number} {step.target}: {mark}{extra}" + (f" - {step.error}" if step.error else ""))
    for a in result.trace:
        state = "ok" if a.ok else f"failed ({a.kind}): {a.error}"
        lines.append(f"    {a.locus} allele {a.allele[:7]} [{a.origin}] {a.duration_ms:.1f} ms: {state}")
        if a.undo:
            lines.append(f"      kernel changes: {', '.join(a.undo)}" + (" (undone)" if not a.ok else ""))
        for f in a.undo_failures:
            lines.append(f"      UNDO FAILED: {f}")
        if a.convergence is not None:
            lines.append(f"      convergence: {'healthy' if a.convergence else 'unhealthy'}")
    if result.verification is not None:
        v = result.verification
        lines.append(f"  verify: {v['status']}" + (f" (at {v['due']:.1f} on the {v['clock']} clock; run `sggit verify --due`)" if v["status"] == "due" else ""))
        lines.extend(f"    {c['summary']}" for c in v.get("checks", []))
    for event in result.events:
        lines.append(f"  * {event}")
    if result.pathway is not None and result.pathway.rollback_errors:
        lines.extend(f"  ROLLBACK FAILED: {e}" for e in result.pathway.rollback_errors)
    return "\n".join(lines)


@click.command()
@click.argument("target")
@click.option("--input", "input_text", metavar="JSON|@FILE", help="Input as JSON, or @FILE holding JSON.")
@click.option("--phenotype", help="Phenotype to express (default: the only one).")
@kernel_option
@netns_option
@click.option("--engine", type=click.Choice(ENGINE_NAMES), default=None,
              help="Mutation engine when every allele fails (default: the phenotype's `engine` setting, `git config sggit.engine`, else none).")
@click.option("--seed", type=int, default=None, help="Random seed of the gp engine.")
@click.option("--fixture-dir", type=click.Path(file_okay=False, path_type=Path), help="Prepared alleles for --engine fixture.")
@click.option("--explain", "explain_flag", is_flag=True, help="Print the trace: steps, alleles tried, fallbacks, undo, timings.")
@click.option("--no-wait", is_flag=True, help="Do not wait for verify windows: record the checks as due for `sggit verify --due`.")
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Seconds one allele may run.")
def run(target: str, input_text: str | None, phenotype: str | None, kernel: str | None, netns: str | None, engine: str | None,
        seed: int | None, fixture_dir: Path | None, explain_flag: bool, no_wait: bool, timeout: float) -> None:
    """Run TARGET (a locus or a pathway) and print its result as JSON.

    Exit 0 on success, 1 on a failed run, 2 on bad usage or bad input.
    """
    inputs = read_input(input_text)
    with open_organism(phenotype=phenotype, kernel=kernel, netns=netns, wait_verify=not no_wait, timeout=timeout, target=target) as organism:
        organism.engine = engine_for(organism, engine, default="none", fixture_dir=fixture_dir, seed=seed)
        result = organism.run(target, inputs)
    if explain_flag:
        click.echo(explain(result), err=True)
    click.echo(json.dumps(result.as_json(), indent=2, sort_keys=True))
    if not result.ok:
        raise SystemExit(1)




@click.command("test")
@click.argument("locus", required=False)
@click.option("--phenotype", help="Phenotype whose hardware the mock kernel takes (default: the only one).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def test_command(locus: str | None, phenotype: str | None, fmt: str) -> None:
    """Run every allele of LOCUS (default: every locus with examples) against the contract's examples.

    Exit 1 when any allele fails an example.
    """
    from sggit.runtime.session import conformance_table

    rows = conformance_table(locus=locus, phenotype=phenotype)
    if fmt == "json":
        click.echo(json.dumps([r.as_json() for r in rows], indent=2))
    else:
        width = max((len(r.locus) for r in rows), default=5)
        click.echo(f"{'locus'.ljust(width)}  allele        passed  first failure")
        for r in rows:
            failure = next((f"example {x.index + 1}: {x.detail}" for x in r.results if not x.ok), "")
            click.echo(f"{r.locus.ljust(width)}  {r.allele[:12]}  {r.passed:>3}/{r.total:<3} {failure}".rstrip())
    if any(r.passed < r.total for r in rows):
        raise SystemExit(1)


