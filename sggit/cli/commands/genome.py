"""Genome commands: init, register, status, show, lineage, why, rollback, sync."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sggit.errors import UsageError

if TYPE_CHECKING:
    from sggit.genome.repo import Genome


_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)


def _print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


def _short(allele: str | None) -> str:
    from sggit.genome.views import SHORT

    return allele[:SHORT] if allele else "-"


@click.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--from", "source", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Genome to copy (default: the shipped network genome).")
@click.option("--domain", "domain_names", multiple=True, metavar="NAME", help="Scaffold from this installed domain's shipped genome (repeatable; see `sggit doctor`).")
@_FORMAT
def init_command(directory: Path, source: Path | None, domain_names: tuple[str, ...], fmt: str) -> None:
    """Scaffold contracts/, genome/, phenotypes/ in a git repository and register the seed alleles."""
    from sggit import domains
    from sggit.genome.init import init_project

    domains.install()
    report = init_project(directory, source, tuple(domain_names))
    if fmt == "json":
        _print_json({**report.__dict__, "changed": report.changed})
        return
    if not report.changed:
        click.echo(f"sggit: {report.root} is already initialised; nothing changed ({report.alleles_known} seed allele(s) registered before)")
        return
    if report.created_repo:
        click.echo(f"created git repository {report.root}")
    for path in report.files_created:
        click.echo(f"created {path}")
    for path in report.files_kept:
        click.echo(f"kept your {path} (differs from the source genome)")
    click.echo(f"registered {len(report.alleles_registered)} seed allele(s)" + (f", {report.alleles_known} already known" if report.alleles_known else ""))
    for name in report.phenotypes_created:
        click.echo(f"created branch phenotype/{name}")
    for change in report.phenotype_changes:
        click.echo(f"phenotype {change}")


@click.command("register")
@click.argument("locus")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "state", type=click.Choice(["recessive", "dominant"]), default="recessive", show_default=True)
@click.option("--phenotype", "phenotype", default=None, help="Only this phenotype (default: every phenotype).")
@_FORMAT
def register_command(locus: str, file: Path, state: str, phenotype: str | None, fmt: str) -> None:
    """Register a hand-written allele at LOCUS (lineage origin: manual)."""
    from sggit.genes import source_problems
    from sggit.genome import phenostore
    from sggit.genome.alleles import register_allele
    from sggit.genome.lineage import Lineage
    from sggit.genome.repo import Genome

    genome = Genome.open(".")
    try:
        data = file.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {file}: {exc}") from None
    problems = source_problems(text)
    if problems:
        raise UsageError(f"{file}:{problems[0]}", hint="an allele must parse and define `def execute(input_json: str) -> str`")
    known = _known_loci(genome)
    if locus not in known:
        raise UsageError(f"no locus {locus}", hint=f"known loci: {', '.join(known)}" if known else "add a gene contract under contracts/genes/ first")
    names = [phenotype] if phenotype else phenostore.phenotype_names(genome)
    if phenotype:
        phenostore.read_phenotype(genome, phenotype)
    with genome.locked():
        result = register_allele(genome, locus, data, Lineage(locus=locus, origin="manual", path=str(file)))
        changes = {}
        for name in names:
            changes[name] = phenostore.register_in_phenotype(genome, name, locus, result.id, state)
    if fmt == "json":
        _print_json({"id": result.id, "locus": locus, "new": result.new, "phenotypes": changes})
        return
    click.echo(f"{'registered' if result.new else 'already registered'} {result.id} at {locus}")
    for name, commit in changes.items():
        click.echo(f"  phenotype/{name}: " + (f"{state} ({_short(commit)})" if commit else "already there, unchanged"))


def _known_loci(genome: Genome) -> list[str]:
    from sggit.genome.alleles import loci as genome_loci
    from sggit.genome.init import contract_loci

    loci: set[str] = set(genome_loci(genome))
    if genome.workdir is not None:
        names, _ = contract_loci(genome.workdir)
        loci.update(names)
    return sorted(loci)


def _ago(t: float | None) -> str:
    if not t:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(t))


@click.command("status")
@click.option("--phenotype", default=None, help="Only this phenotype.")
@_FORMAT
def status_command(phenotype: str | None, fmt: str) -> None:
    """Per locus: dominant allele, fallback depth, fitness, invocations, last failure."""
    from sggit.genome import views
    from sggit.genome.repo import Genome

    st = views.status(Genome.open("."), phenotype)
    if fmt == "json":
        _print_json(views.as_json(st))
        return
    if not st.phenotypes and not st.unexpressed_loci:
        click.echo("the genome is empty; run `sggit init`")
        return
    for ph in st.phenotypes:
        click.echo(f"phenotype {ph.phenotype} (for {ph.topology})")
        if not ph.loci:
            click.echo("  no loci expressed")
        width = max((len(r.locus) for r in ph.loci), default=5)
        for r in ph.loci:
            fit = "-" if r.fitness is None else f"{r.fitness:.3f}"
            fail = f"  last failure {_ago(r.last_failure_time)}: {r.last_failure}" if r.last_failure else ""
            click.echo(f"  {r.locus:<{width}}  {_short(r.dominant):<12}  depth {r.fallback_depth}  fitness {fit:>5}  {r.invocations:>6} calls{fail}")
    for locus, count in sorted(st.unexpressed_loci.items()):
        click.echo(f"  {locus}: {count} allele(s), expressed by no phenotype")
    if st.journal_pending_bytes:
        click.echo("fitness records are waiting in the journal; `sggit sync` folds them in")


@click.command("show")
@click.argument("allele")
@_FORMAT
def show_command(allele: str, fmt: str) -> None:
    """An allele's source, lineage and fitness per host and in total."""
    from sggit.genome import views
    from sggit.genome.repo import Genome

    view = views.show(Genome.open("."), allele)
    if fmt == "json":
        _print_json(views.as_json(view))
        return
    click.echo(f"allele {view.id}")
    click.echo(f"locus  {view.locus}")
    if view.lineage is not None:
        lin = view.lineage
        click.echo(f"origin {lin.origin}, generation {lin.generation}, host {lin.host}, {_ago(lin.time)}")
        if lin.parents:
            click.echo(f"parents {', '.join(_short(p) for p in lin.parents)}")
        if lin.engine:
            click.echo(f"engine {lin.engine}" + (f" ({lin.model})" if lin.model else ""))
        if lin.failure is not None and lin.failure.error:
            click.echo(f"prompted by: {lin.failure.error}")
    for ex in view.expressed_in:
        click.echo(f"phenotype {ex.phenotype}: {ex.state}" + (f" (stack position {ex.position})" if ex.position is not None else ""))
    for host, c in sorted(view.fitness_by_host.items()):
        click.echo(f"fitness on {host}: {c.successes}/{c.total} ok")
    click.echo(f"fitness total: {view.fitness:.3f} ({view.total.successes}/{view.total.total} ok)")
    click.echo("")
    click.echo(view.source.rstrip("\n"))


@click.command("lineage")
@click.argument("target")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "dot"]), default="text", show_default=True)
def lineage_command(target: str, fmt: str) -> None:
    """The ancestry tree of a LOCUS or an ALLELE."""
    from sggit.genome import views
    from sggit.genome.repo import Genome

    focus, nodes = views.lineage_nodes(Genome.open("."), target)
    if fmt == "json":
        _print_json({"focus": focus, "nodes": views.as_json(nodes)})
    elif fmt == "dot":
        click.echo(views.render_dot(nodes), nl=False)
    else:
        click.echo(views.render_tree(nodes) or f"no alleles at {focus}")


@click.command("why")
@click.argument("allele")
@_FORMAT
def why_command(allele: str, fmt: str) -> None:
    """Why this allele exists and why it is (or is not) dominant."""
    from sggit.genome import views
    from sggit.genome.repo import Genome

    genome = Genome.open(".")
    text = views.why(genome, allele)
    if fmt == "json":
        _print_json({"allele": allele, "why": text})
    else:
        click.echo(text)


@click.command("rollback")
@click.option("--phenotype", required=True, help="The phenotype whose change to undo.")
@click.argument("commit", required=False)
@_FORMAT
def rollback_command(phenotype: str, commit: str | None, fmt: str) -> None:
    """Revert the last (or the named) phenotype change, as a revert commit on its branch."""
    from sggit.genome import phenostore
    from sggit.genome.repo import Genome

    new = phenostore.rollback(Genome.open("."), phenotype, commit)
    if fmt == "json":
        _print_json({"phenotype": phenotype, "commit": new})
    else:
        click.echo(f"phenotype/{phenotype}: reverted as {_short(new)}")


@click.command("sync")
@_FORMAT
def sync_command(fmt: str) -> None:
    """Fold the local fitness journal into this host's fitness notes."""
    from sggit.genome.repo import Genome
    from sggit.genome.sync import sync as sync_journal

    genome = Genome.open(".")
    result = sync_journal(genome)
    if fmt == "json":
        _print_json({**result.__dict__, "host": genome.host})
    elif result.segments == 0:
        click.echo("nothing to sync")
    else:
        click.echo(f"folded {result.records} record(s) for {result.alleles} allele(s) into refs/notes/sggit/fitness/{genome.host}")



