"""Genome commands: init, register, show, lineage, why, rollback, sync (status has its own module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sggit.cli.params import FORMAT as _FORMAT
from sggit.cli.text import ago as _ago
from sggit.cli.text import short as _short
from sggit.errors import UsageError
from sggit.genome.said import failure_detail, one_line

if TYPE_CHECKING:
    from sggit.genome.repo import Genome


def _print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


@click.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--from", "source", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Genome to copy (default: the shipped network genome).")
@click.option("--no-hook", is_flag=True, help="Do not install the pre-commit git hook.")
@click.option("--domain", "domain_names", multiple=True, metavar="NAME", help="Scaffold from this installed domain's shipped genome (repeatable; see `sggit doctor`).")
@_FORMAT
def init_command(directory: Path, source: Path | None, no_hook: bool, domain_names: tuple[str, ...], fmt: str) -> None:
    """Scaffold contracts/, genome/, phenotypes/ in a git repository and register the seed alleles.

    Run again, it registers seeds added since and gives each phenotype branch the
    topology and bindings its phenotypes/*.toml file now says.

    Installs the pre-commit git hook when pre-commit is available (and says how
    otherwise), so the configured hooks run on the next commit.
    """
    from sggit import domains
    from sggit.app.ci import install_git_hook
    from sggit.genome.init import init_project

    domains.install()
    joined = _join(directory)
    report = init_project(directory, source, tuple(domain_names))
    hooked, hook_note = (False, "not requested (--no-hook)") if no_hook else install_git_hook(Path(report.root))
    if fmt == "json":
        _print_json({**report.__dict__, "changed": report.changed, "git_hook": hooked, "git_hook_note": hook_note,
                     "joined": joined.remote if joined else None})
        return
    if joined is not None:
        click.echo(f"joined the fleet: pulled the genome from {joined.remote} ({len(joined.fetched)} ref(s)) instead of starting a second one")
        if not report.changed:
            # The pull brought every seed and phenotype branch: the join was the whole init.
            click.echo(f"the fleet's genome already holds every seed here ({report.alleles_known} allele(s)) and every phenotype branch; nothing else to set up")
            if not no_hook:
                click.echo(("" if hooked else "hint: ") + hook_note)
            return
    if not report.changed:
        click.echo(f"sggit: {report.root} is already initialised; nothing changed ({report.alleles_known} seed allele(s) registered before)")
        if not no_hook:
            click.echo(("" if hooked else "hint: ") + hook_note)
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
    _print_followed(report.phenotypes_followed)
    if not no_hook:
        click.echo(("" if hooked else "hint: ") + hook_note)


def _join(directory: Path):  # type: ignore[no-untyped-def]
    """Pull the fleet's genome first when DIRECTORY is a clone of a repository that has one."""
    from sggit.app.join import join_fleet
    from sggit.genome.repo import Genome

    try:
        genome = Genome.open(directory)
    except UsageError:
        return None
    if genome.workdir is None or Path(genome.workdir).resolve() != directory.resolve():
        return None
    report = join_fleet(genome)
    if report is not None and not report.ok:
        raise UsageError(f"pulling the fleet's genome from {report.remote} found conflicts", hint="run `sggit pull` to see them")
    return report


@click.command("register")
@click.argument("locus", required=False)
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "state", type=click.Choice(["recessive", "dominant"]), default="recessive", show_default=True)
@click.option("--phenotype", "phenotype", default=None, help="Only this phenotype (default: every phenotype).")
@click.option("--seeds", is_flag=True, help="Register every seed under genome/<locus>/ not registered yet (recessive in every phenotype).")
@_FORMAT
def register_command(locus: str | None, files: tuple[Path, ...], state: str, phenotype: str | None, seeds: bool, fmt: str) -> None:
    """Register hand-written alleles at LOCUS (lineage origin: manual), all FILES in one commit, or with --seeds
    every seed file committed since `sggit init`.

    With --as dominant and several files, the last file becomes dominant.
    Exit 0 when registered (or already known), 2 on bad usage.
    """
    from sggit.genes import source_problems
    from sggit.genome import phenostore
    from sggit.genome.alleles import NewAllele, register_alleles
    from sggit.genome.lineage import Lineage
    from sggit.genome.repo import Genome

    if seeds:
        given = [what for what, there in (("LOCUS", locus), ("FILE", files), ("--phenotype", phenotype), ("--as dominant", state == "dominant")) if there]
        if given:
            raise UsageError(f"--seeds takes no {', '.join(given)}", hint="it registers every new seed, recessive in every phenotype; "
                             "`sggit register LOCUS FILE... --phenotype NAME --as dominant` registers chosen files")
        _register_seeds(fmt)
        return
    if locus is None or not files:
        raise UsageError("give LOCUS and FILE..., or --seeds")
    genome = Genome.open(".")
    sources: list[tuple[Path, bytes]] = []
    for file in files:
        try:
            data = file.read_bytes()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {file}: {exc}") from None
        problems = source_problems(text)
        if problems:
            raise UsageError(f"{file}:{problems[0]}", hint="an allele must parse and define `def execute(input_json: str) -> str`")
        sources.append((file, data))
    known = _known_loci(genome)
    if locus not in known:
        raise UsageError(f"no locus {locus}", hint=f"known loci: {', '.join(known)}" if known else "add a gene contract under contracts/genes/ first")
    names = [phenotype] if phenotype else phenostore.phenotype_names(genome)
    if phenotype:
        phenostore.read_phenotype(genome, phenotype)
    with genome.locked():
        batch = [NewAllele(locus, data, Lineage(locus=locus, origin="manual", path=str(file))) for file, data in sources]
        results = register_alleles(genome, batch)
        ids = list(dict.fromkeys(r.id for r in results))
        changes = {name: phenostore.register_many_in_phenotype(genome, name, locus, ids, state) for name in names}
    if fmt == "json":
        if len(files) == 1:
            _print_json({"id": results[0].id, "locus": locus, "new": results[0].new, "phenotypes": changes})
        else:
            _print_json({"alleles": [{"id": r.id, "new": r.new} for r in results], "locus": locus, "phenotypes": changes})
        return
    for r in results:
        click.echo(f"{'registered' if r.new else 'already registered'} {r.id} at {locus}")
    for name, commit in changes.items():
        click.echo(f"  phenotype/{name}: " + (f"{state} ({_short(commit)})" if commit else "already there, unchanged"))


def _register_seeds(fmt: str) -> None:
    """Seeds committed after `sggit init`: registered as init registers them (origin seed, recessive)."""
    from sggit import domains
    from sggit.genome.init import init_project
    from sggit.runtime.session import project_root

    domains.install()

    root = project_root()
    report = init_project(root, root)
    if fmt == "json":
        _print_json({"registered": report.alleles_registered, "known": report.alleles_known, "phenotypes": report.phenotype_changes,
                     "phenotypes_followed": report.phenotypes_followed})
        return
    if not report.alleles_registered:
        click.echo(f"every seed is registered already ({report.alleles_known})")
    for change in report.phenotype_changes:
        click.echo(f"registered phenotype {change} (recessive)")
    _print_followed(report.phenotypes_followed)


def _print_followed(followed: dict[str, str]) -> None:
    for name, what in followed.items():
        click.echo(f"phenotype/{name} follows phenotypes/{name}.toml: {what}")


def _known_loci(genome: Genome) -> list[str]:
    from sggit import domains
    from sggit.genome.alleles import loci as genome_loci
    from sggit.genome.init import contract_loci

    domains.install()
    loci: set[str] = set(genome_loci(genome))
    if genome.workdir is not None:
        names, _ = contract_loci(genome.workdir)
        loci.update(names)
    return sorted(loci)


@click.command("show")
@click.argument("allele")
@click.option("--locus", default=None, help="Only this locus (a source registered at several loci has records at each).")
@click.option("--hosts", "per_host", is_flag=True, help="Also each host's counters (always in --format json).")
@_FORMAT
def show_command(allele: str, locus: str | None, per_host: bool, fmt: str) -> None:
    """An allele's source, and per locus it fills its lineage and fitness per phenotype and in total over the fleet."""
    from sggit.genome import views
    from sggit.genome.repo import Genome

    view = views.show(Genome.open("."), allele, locus, hosts=per_host or fmt == "json")
    if fmt == "json":
        _print_json(views.as_json(view))
        return
    click.echo(f"allele {view.id}")
    for at in view.loci:
        click.echo(f"locus  {at.locus}")
        if at.lineage is not None:
            lin = at.lineage
            click.echo(f"  origin {lin.origin}, generation {lin.generation}, host {one_line(lin.host)}, {_ago(lin.time)}")
            if lin.parents:
                click.echo(f"  parents {', '.join(_short(p) for p in lin.parents)}")
            if lin.engine:
                click.echo(f"  engine {one_line(lin.engine)}" + (f" ({one_line(lin.model)})" if lin.model else ""))
            if lin.failure is not None and lin.failure.error:
                click.echo(f"  prompted by: {failure_detail(lin.failure.error)}")
        for ex in at.expressed_in:
            click.echo(f"  phenotype {ex.phenotype}: {ex.state}" + (f" (stack position {ex.position})" if ex.position is not None else ""))
        for host, c in sorted((at.fitness_by_host or {}).items()):
            click.echo(f"  fitness on {host}: {_outcomes(c)}")
        for name, score in sorted(at.fitness_by_phenotype.items()):
            click.echo(f"  fitness under {name}: {score:.3f} ({_outcomes(at.total.phenotypes[name])})")
        click.echo(f"  fitness total: {at.fitness:.3f} ({_outcomes(at.total)}) on {at.hosts} host(s)")
    click.echo("")
    click.echo(view.source.rstrip("\n"))


def _outcomes(c) -> str:  # type: ignore[no-untyped-def]
    """Immediate results and, where checked, convergence and resilience: 5/5 ok alone can hide late failures."""
    parts = [f"immediate {c.successes}/{c.total} ok"]
    if c.convergence_total:
        parts.append(f"convergence {c.convergence_ok}/{c.convergence_total} ok")
    if c.resilience_total:
        parts.append(f"resilience {c.resilience_ok}/{c.resilience_total} ok")
    return ", ".join(parts)


@click.command("lineage")
@click.argument("target")
@click.option("--locus", default=None, help="For an ALLELE registered at several loci: only this locus's tree.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "dot"]), default="text", show_default=True)
def lineage_command(target: str, locus: str | None, fmt: str) -> None:
    """The ancestry tree of a LOCUS or an ALLELE (one tree per locus the allele fills)."""
    from sggit.genome import views
    from sggit.genome.repo import Genome

    focus, nodes = views.lineage_nodes(Genome.open("."), target, locus)
    if fmt == "json":
        _print_json({"focus": focus, "nodes": views.as_json(nodes)})
    elif fmt == "dot":
        click.echo(views.render_dot(nodes), nl=False)
    else:
        click.echo(views.render_tree(nodes) or f"no alleles at {focus}")


@click.command("why")
@click.argument("allele")
@click.option("--locus", default=None, help="Only this locus (a source registered at several loci is judged at each).")
@_FORMAT
def why_command(allele: str, locus: str | None, fmt: str) -> None:
    """Why this allele exists and why it is (or is not) dominant, per locus it fills."""
    from sggit.genome import views
    from sggit.genome.repo import Genome

    genome = Genome.open(".")
    text = views.why(genome, allele, locus)
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



