"""`sggit heal`, `sggit generate`, `sggit promote`, `sggit corpus export`: evolution on request."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from sggit.cli.progress import step
from sggit.cli.usage import Subgroup
from sggit.engines.registry import ENGINE_NAMES
from sggit.genome.said import failure_detail

engine_option = click.option(
    "--engine", type=click.Choice(ENGINE_NAMES), default=None,
    help="Mutation engine (default: the phenotype's `engine` setting, `git config sggit.engine`, else auto).",
)
fixture_option = click.option("--fixture-dir", type=click.Path(file_okay=False, path_type=Path), help="Prepared alleles for --engine fixture.")
format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
progress_option = click.option("--progress/--no-progress", default=None,
                               help="Report the search's progress on stderr (default: when stderr is a terminal).")


def _search_engine(engine: Any) -> Any:
    """The engine doing the search, under the screening wrapper."""
    return getattr(engine, "inner", engine)


def _show_progress(engine: Any, enabled: bool | None) -> None:
    """Candidates judged, best partial score and elapsed time, on stderr, for engines that report them."""
    inner = _search_engine(engine)
    if not hasattr(inner, "progress") or not (sys.stderr.isatty() if enabled is None else enabled):
        return
    tty = sys.stderr.isatty()

    def report(stats: Any) -> None:
        line = stats.line()
        click.echo(f"\r{line}\x1b[K" if tty else line, err=True, nl=not tty or stats.phase == "done")

    inner.progress = report


@click.command("heal")
@click.argument("locus")
@click.option("--phenotype", help="Phenotype to heal in (default: the only one).")
@engine_option
@click.option("--seed", type=int, default=None, help="Random seed of the gp engine, for a repeatable search.")
@fixture_option
@click.option("--budget", type=int, default=None, help="Candidates the gp engine may evaluate per round.")
@click.option("--seconds", type=click.FloatRange(min=0.1), default=None, help="Seconds the gp engine may search per round.")
@click.option("--winners", type=click.IntRange(1, 20), default=1, show_default=True,
              help="Passing candidates to find before the search stops.")
@click.option("--rounds", type=int, default=3, show_default=True, help="Times to ask the engine before giving up.")
@progress_option
@format_option
def heal_command(locus: str, phenotype: str | None, engine: str | None, seed: int | None, fixture_dir: Path | None,
                 budget: int | None, seconds: float | None, winners: int, rounds: int, progress: bool | None,
                 fmt: str) -> None:
    """Repair LOCUS against its contract's examples and its recorded failures.

    The winner is registered, taken through shadow and canary, and promoted where
    the locus's risk allows (a commit on sggit/promote/<phenotype>/<locus>, fast-
    forwarded into the phenotype); otherwise the branch waits for review.
    Exit 1 when no candidate passes every case.
    """
    from sggit.app.heal import heal
    from sggit.runtime.session import engine_for, open_organism

    with open_organism(phenotype=phenotype, wait_verify=False) as organism:
        chosen = engine_for(organism, engine, default="auto", fixture_dir=fixture_dir, seed=seed, max_candidates=budget)
        if seconds is not None and hasattr(_search_engine(chosen), "max_seconds"):
            _search_engine(chosen).max_seconds = seconds
        _show_progress(chosen, progress)
        with step(f"healing {locus} on {organism.phenotype_name} with the {chosen.name} engine"):
            report = heal(organism, locus, chosen, rounds=rounds, count=winners)
    search = getattr(_search_engine(chosen), "last_stats", None)
    explain = search.explain() if search is not None and not report.healed and not search.winners else []
    if fmt == "json":
        click.echo(json.dumps(report.as_json() | ({"search": explain} if explain else {}), indent=2))
    else:
        click.echo("\n".join(report.lines() + [f"  {line}" for line in explain]))
    if not report.healed:
        raise SystemExit(1)


@click.command("generate")
@click.argument("locus")
@click.option("--phenotype", help="Phenotype the new alleles enter (default: the only one).")
@click.option("--count", "-n", type=click.IntRange(1, 20), default=3, show_default=True, help="How many alleles, each a different approach.")
@engine_option
@click.option("--seed", type=int, default=None)
@fixture_option
@progress_option
@format_option
def generate_command(locus: str, phenotype: str | None, count: int, engine: str | None, seed: int | None,
                     fixture_dir: Path | None, progress: bool | None, fmt: str) -> None:
    """Write COUNT competing alleles of LOCUS from its contract alone, each a different approach.

    Each is judged on every contract example; those that pass enter the lifecycle
    of the locus's risk (recessive in the fallback stack, or canary where risk is
    high or critical). Exit 1 when the engine proposes nothing or no candidate passes.
    """
    from sggit.app.generate import generate
    from sggit.runtime.session import engine_for, open_organism

    with open_organism(phenotype=phenotype, wait_verify=False) as organism:
        chosen = engine_for(organism, engine, default="auto", fixture_dir=fixture_dir, seed=seed)
        _show_progress(chosen, progress)
        with step(f"generating {count} allele(s) of {locus} with the {chosen.name} engine"):
            made = generate(organism, locus, chosen, count=count)
    if fmt == "json":
        click.echo(json.dumps([g.__dict__ for g in made], indent=2))
    else:
        for g in made:
            first = next((e for e in g.errors if e), None)
            click.echo(f"{g.allele[:12]} {g.state} from {g.engine}: examples {g.passed}/{g.total}" + (f" (first failure: {failure_detail(first)})" if first else ""))
    if all(g.state == "shadow" for g in made):
        raise SystemExit(1)


@click.command("promote")
@click.option("--phenotype", help="Phenotype whose pending promotions to write (default: the only one).")
@click.option("--auto", "auto", is_flag=True, help="Also fast-forward the phenotype where the locus's risk allows automatic promotion.")
@click.option("--body-out", type=click.Path(dir_okay=False, path_type=Path), help="Write the pull-request bodies here.")
@format_option
def promote_command(phenotype: str | None, auto: bool, body_out: Path | None, fmt: str) -> None:
    """Write each pending promotion as a commit on sggit/promote/<phenotype>/<locus>."""
    from sggit.app.promotion import pending, write_promotion
    from sggit.contract.tree import load_tree
    from sggit.fsutil import atomic_write_text
    from sggit.genome.repo import Genome
    from sggit.project import CONTRACTS_DIR
    from sggit.runtime.session import choose_phenotype, project_root

    root = project_root()
    genome = Genome.open(root)
    tree = load_tree(root / CONTRACTS_DIR)
    name = choose_phenotype(genome, phenotype)
    written = [write_promotion(genome, p, auto=auto) for p in pending(genome, tree, name)]
    if body_out is not None and not written:
        click.echo(f"sggit: no pending promotion on {name}; {body_out} not written", err=True)
    elif body_out is not None:
        atomic_write_text(body_out, "\n\n---\n\n".join(w.body for w in written))
    if fmt == "json":
        click.echo(json.dumps([{"title": w.title, "branch": w.branch, "commit": w.commit, "fast_forwarded": w.fast_forwarded, "unchanged": w.unchanged} for w in written], indent=2))
        return
    if not written:
        click.echo(f"no pending promotion on {name}")
    for w in written:
        state = "fast-forwarded into the phenotype" if w.fast_forwarded else "waits for review"
        if w.unchanged and not w.fast_forwarded:
            state += " (unchanged since the last run)"
        click.echo(f"{w.title}\n  {w.branch} at {w.commit[:12]}: {state}")


@click.group("corpus", cls=Subgroup)
def corpus_group() -> None:
    """Training data from the genome's evolutionary history."""


@corpus_group.command("export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="JSONL file to write (default: standard output).")
def corpus_export(out: Path | None) -> None:
    """Every evolved allele as one JSON line: contract, parent, failure, source, engine, outcome, fitness."""
    from sggit.app.corpus import export
    from sggit.contract.tree import load_tree
    from sggit.genome.repo import Genome
    from sggit.project import CONTRACTS_DIR
    from sggit.runtime.session import project_root

    root = project_root()
    count, text = export(Genome.open(root), load_tree(root / CONTRACTS_DIR), out)
    if out is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {count} record(s) to {out}", err=True)


