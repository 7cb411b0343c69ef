"""`sggit status`: rendered here, once; a repeat with unchanged inputs is printed from the kept output.

The kept output and the description of what it depends on live in
`sggit.cli.fast_status`, which `sggit.cli.main` asks before importing click.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from sggit.cli import fast_status
from sggit.cli.params import FORMAT, ago, short

if TYPE_CHECKING:
    from sggit.genome.repo import Genome


def render(genome: Genome, phenotype: str | None, fmt: str) -> str:
    """The whole output of a status, as one text: what the command prints and what it keeps."""
    from sggit.genome import views

    st = views.status(genome, phenotype)
    if fmt == "json":
        return json.dumps(views.as_json(st), indent=2, sort_keys=False) + "\n"
    lines: list[str] = []
    if not st.phenotypes and not st.unexpressed_loci:
        from sggit.app.join import tracked_fleet_remote

        remote = tracked_fleet_remote(genome)
        if remote is not None:
            lines.append(f"this clone has no genome yet, and {remote} has one: run `sggit pull {remote}` first (or `sggit init`, which pulls it)")
        else:
            lines.append("the genome is empty; run `sggit init`")
        return "\n".join(lines) + "\n"
    for ph in st.phenotypes:
        lines.append(f"phenotype {ph.phenotype} (for {ph.topology})")
        if not ph.loci:
            lines.append("  no loci expressed")
        width = max((len(r.locus) for r in ph.loci), default=5)
        for r in ph.loci:
            fit = "-" if r.fitness is None else f"{r.fitness:.3f}"
            fail = f"  last failure {ago(r.last_failure_time)}: {r.last_failure}" if r.last_failure else ""
            elsewhere = ""
            if r.invocations_all != r.invocations and r.fitness_all is not None:
                elsewhere = f"  (all phenotypes: {r.fitness_all:.3f}, {r.invocations_all} calls)"
            lines.append(f"  {r.locus:<{width}}  {short(r.dominant):<12}  depth {r.fallback_depth}  fitness {fit:>5}  {r.invocations:>6} calls{elsewhere}{fail}")
    for locus, count in sorted(st.unexpressed_loci.items()):
        lines.append(f"  {locus}: {count} allele(s), expressed by no phenotype")
    if st.journal_pending_bytes:
        lines.append("(counts include records waiting in the journal; `sggit sync` folds them into the fitness notes other hosts see)")
    return "\n".join(lines) + "\n"


@click.command("status")
@click.option("--phenotype", default=None, help="Only this phenotype.")
@FORMAT
def status_command(phenotype: str | None, fmt: str) -> None:
    """Per locus: dominant allele, fallback depth, fitness, invocations, last failure."""
    from sggit.genome.repo import Genome

    genome = Genome.open(".")
    with fast_status.Recording(str(genome.git_dir), fmt, phenotype) as recording:
        text = render(genome, phenotype, fmt)
    click.echo(text, nl=False)
    recording.keep(text)
