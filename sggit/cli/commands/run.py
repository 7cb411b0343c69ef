"""`sggit run`: express a locus or pathway of a phenotype on a kernel."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sggit.cli.options import kernel_option, netns_option, timeout_option
from sggit.cli.progress import step
from sggit.engines.registry import ENGINE_NAMES
from sggit.genome.said import failure_detail, gene_said, one_line
from sggit.runtime.organism import RunResult
from sggit.runtime.session import engine_for, open_organism, read_input


def failure_text(kind: str | None, error: str | None) -> str:
    """An attempt's failure for people: sggit's label, and the gene's text quoted, never as a line of its own."""
    detail = failure_detail(error or "")
    return f"failed ({detail})" if gene_said(error) is not None else f"failed ({kind}): {detail}"


def status_line(status: str, error: str | None) -> str:
    """`status - detail`, without saying the status twice ("not run - not run: ...")."""
    label = status.replace("_", " ")
    detail = one_line((error or "").removeprefix(f"{label}: ").removeprefix(f"{status}: "))
    return f"{label} - {detail}" if detail else label


def explain(result: RunResult) -> str:
    lines = [f"{result.kind} {result.target}: {'ok' if result.ok else 'FAILED'}"]
    if result.pathway is not None:
        for step in result.pathway.steps:
            mark = {"ok": "ok", "failed": "FAILED", "skipped": "skipped", "not_run": "not run"}[step.status]
            extra = " (rolled back)" if step.rolled_back else ""
            lines.append(f"  step {step.number} {step.target}: " + status_line(mark, step.error).replace(mark, mark + extra, 1))
    for a in result.trace:
        state = "ok" if a.ok else failure_text(a.kind, a.error)
        lines.append(f"    {a.locus} allele {a.allele[:7]} [{a.origin}] {a.duration_ms:.1f} ms: {state}")
        if a.undo:
            lines.append(f"      kernel changes: {', '.join(a.undo)}" + (" (undone)" if not a.ok else ""))
        for f in a.undo_failures:
            lines.append(f"      UNDO FAILED: {f}")
        if a.convergence is not None:
            lines.append(f"      convergence: {'healthy' if a.convergence else 'unhealthy'}")
        lines += [f"      {d['locus']} {json.dumps(d['input'], sort_keys=True)} said {json.dumps(d['output'], sort_keys=True)}"
                  for d in a.diagnostics if not d.get("healthy") and d.get("output") is not None]
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
@timeout_option
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True,
              help="json: the result; text: the trace --explain prints.")
@click.option("--progress/--no-progress", default=None, help="Verify progress on stderr (default: only on a terminal).")
def run(target: str, input_text: str | None, phenotype: str | None, kernel: str | None, netns: str | None, engine: str | None,
        seed: int | None, fixture_dir: Path | None, explain_flag: bool, no_wait: bool, timeout: float | None, fmt: str,
        progress: bool | None) -> None:
    """Run TARGET (a locus or a pathway) and print its result.

    In JSON, text a gene wrote is under `gene_said` (by allele), never mixed with
    sggit's own fields. Exit 0 on success, 1 on a failed run, 2 on bad usage or bad input.
    """
    inputs = read_input(input_text)
    with open_organism(phenotype=phenotype, kernel=kernel, netns=netns, wait_verify=not no_wait, timeout=timeout, progress=progress,
                       target=target) as organism:
        organism.engine = engine_for(organism, engine, default="none", fixture_dir=fixture_dir, seed=seed)
        if kernel == "netlink":
            with step(f"running {target} on the real kernel" + (f" in {netns}" if netns else "")):
                result = organism.run(target, inputs)
        else:
            result = organism.run(target, inputs)
    if fmt == "text":
        click.echo(explain(result))
    else:
        if explain_flag:
            click.echo(explain(result), err=True)
        data = result.as_json()
        said = {a.allele: text for a in result.trace if (text := gene_said(a.error)) is not None}
        if said:
            data["gene_said"] = said
        click.echo(json.dumps(data, indent=2, sort_keys=True, allow_nan=False))
    if not result.ok:
        _hint_unregistered()
        raise SystemExit(1)


def _hint_unregistered() -> None:
    """A seed committed after `sggit init` is not an allele yet: say which command registers it."""
    from sggit.app.join import unregistered_seeds
    from sggit.genome.repo import Genome
    from sggit.runtime.session import project_root

    root = project_root()
    for locus, paths in unregistered_seeds(root, Genome.open(root)).items():
        click.echo(f"hint: {', '.join(paths)} at {locus} is not registered, so it is not expressed: run `sggit register --seeds`", err=True)



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
            failure = next((f"example {x.index + 1}: {failure_detail(x.detail or 'failed')}" for x in r.results if not x.ok), "")
            click.echo(f"{r.locus.ljust(width)}  {r.allele[:12]}  {r.passed:>3}/{r.total:<3} {failure}".rstrip())
    if any(r.passed < r.total for r in rows):
        raise SystemExit(1)


