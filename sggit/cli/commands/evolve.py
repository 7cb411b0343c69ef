"""`sggit heal`, `sggit generate`, `sggit promote`, `sggit corpus export`: evolution on request."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sggit.engines.registry import ENGINE_NAMES

engine_option = click.option(
    "--engine", type=click.Choice(ENGINE_NAMES), default=None,
    help="Mutation engine (default: the phenotype's `engine` setting, `git config sggit.engine`, else auto).",
)
fixture_option = click.option("--fixture-dir", type=click.Path(file_okay=False, path_type=Path), help="Prepared alleles for --engine fixture.")
format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)


@click.command("heal")
@click.argument("locus")
@click.option("--phenotype", help="Phenotype to heal in (default: the only one).")
@engine_option
@click.option("--seed", type=int, default=None, help="Random seed of the gp engine, for a repeatable search.")
@fixture_option
@click.option("--budget", type=int, default=None, help="Candidates the gp engine may evaluate per round.")
@click.option("--rounds", type=int, default=3, show_default=True, help="Times to ask the engine before giving up.")
@format_option
def heal_command(locus: str, phenotype: str | None, engine: str | None, seed: int | None, fixture_dir: Path | None,
                 budget: int | None, rounds: int, fmt: str) -> None:
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
        report = heal(organism, locus, chosen, rounds=rounds, count=3)
    click.echo(json.dumps(report.as_json(), indent=2) if fmt == "json" else "\n".join(report.lines()))
    if not report.healed:
        raise SystemExit(1)


@click.command("generate")
@click.argument("locus")
@click.option("--phenotype", help="Phenotype the new alleles enter (default: the only one).")
@click.option("--count", "-n", type=click.IntRange(1, 20), default=3, show_default=True, help="How many alleles, each a different approach.")
@engine_option
@click.option("--seed", type=int, default=None)
@fixture_option
@format_option
def generate_command(locus: str, phenotype: str | None, count: int, engine: str | None, seed: int | None,
                     fixture_dir: Path | None, fmt: str) -> None:
    """Write COUNT competing alleles of LOCUS from its contract alone, each a different approach.

    Each is judged on every contract example; those that pass enter the lifecycle
    of the locus's risk (recessive in the fallback stack, or canary where risk is
    high or critical). Exit 1 when the engine proposes nothing or no candidate passes.
    """
    from sggit.app.generate import generate
    from sggit.runtime.session import engine_for, open_organism

    with open_organism(phenotype=phenotype, wait_verify=False) as organism:
        chosen = engine_for(organism, engine, default="auto", fixture_dir=fixture_dir, seed=seed)
        made = generate(organism, locus, chosen, count=count)
    if fmt == "json":
        click.echo(json.dumps([g.__dict__ for g in made], indent=2))
    else:
        for g in made:
            first = next((e for e in g.errors if e), None)
            click.echo(f"{g.allele[:12]} {g.state} from {g.engine}: examples {g.passed}/{g.total}" + (f" (first failure: {first})" if first else ""))
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
    if body_out is not None:
        atomic_write_text(body_out, "\n\n---\n\n".join(w.body for w in written))
    if fmt == "json":
        click.echo(json.dumps([{"title": w.title, "branch": w.branch, "commit": w.commit, "fast_forwarded": w.fast_forwarded} for w in written], indent=2))
        return
    if not written:
        click.echo(f"no pending promotion on {name}")
    for w in written:
        state = "fast-forwarded into the phenotype" if w.fast_forwarded else "waits for review"
        click.echo(f"{w.title}\n  {w.branch} at {w.commit[:12]}: {state}")


@click.group("corpus")
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


COMMANDS = [heal_command, generate_command, promote_command, corpus_group]
