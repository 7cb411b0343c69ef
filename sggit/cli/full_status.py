"""`sggit status` in full: rendered here, once, printed, and its output kept when its inputs held still.

The kept output and the description of what it depends on live in
`sggit.cli.fast_status`, which `sggit.cli.main` asks first. A plain status
(only `--format` and `--phenotype`) comes here straight from `main`, without
click; any other command line reaches it through the click command in
`sggit.cli.commands.status`. Every other command renders here too, as it ends
(`refresh`): the kept outputs it made stale are rendered anew while pygit2 is
loaded anyway, so the status that follows a change made through sggit is
printed from a kept output as well.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sggit.cli import fast_status
from sggit.cli.errors import classify, exit_status, log_traceback
from sggit.cli.text import ago, short
from sggit.genome.said import failure_detail

if TYPE_CHECKING:
    from sggit.genome.repo import Genome


def _calls(count: int) -> str:
    return "call" if count == 1 else "calls"


def render(genome: Genome, phenotype: str | None, fmt: str) -> str:
    """The whole output of a status, as one text: what the command prints and what it keeps."""
    from sggit.genome import damage, views

    with damage.anew():
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
            fail = f"  last failure {ago(r.last_failure_time)}: {failure_detail(r.last_failure)}" if r.last_failure else ""
            elsewhere = ""
            if r.invocations_all != r.invocations and r.fitness_all is not None:
                elsewhere = f"  (all phenotypes: {r.fitness_all:.3f}, {r.invocations_all} {_calls(r.invocations_all)})"
            lines.append(f"  {r.locus:<{width}}  {short(r.dominant):<12}  depth {r.fallback_depth}  fitness {fit:>5}  "
                         f"{r.invocations:>6} {_calls(r.invocations):<5}{elsewhere}{fail}".rstrip())
    for locus, count in sorted(st.unexpressed_loci.items()):
        lines.append(f"  {locus}: {count} allele(s), expressed by no phenotype")
    if st.journal_pending_bytes:
        lines.append("(counts include records waiting in the journal; `sggit sync` folds them into the fitness notes other hosts see)")
    return "\n".join(lines) + "\n"


def show(phenotype: str | None, fmt: str) -> None:
    """Render, print, and keep the output if nothing it read moved meanwhile."""
    from sggit.genome.repo import Genome

    genome = Genome.open(".")
    with fast_status.Recording(str(genome.git_dir), fmt, phenotype) as recording:
        text = render(genome, phenotype, fmt)
    sys.stdout.write(text)
    sys.stdout.flush()
    recording.keep(text)


def main(fmt: str, phenotype: str | None) -> int:
    """A plain `sggit status` inside the error boundary, as click would run it: its exit status."""
    try:
        show(phenotype, fmt)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the command line's boundary
        return exit_status(exc)
    return 0


@contextmanager
def _environment(environ: dict[str, str]) -> Iterator[None]:
    """`os.environ` as the command found it (before `--progress` set it), which is what a later status sees."""
    now = dict(os.environ)
    if now == environ:
        yield
        return
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(now)


def refresh(environ: dict[str, str]) -> None:
    """Render anew the kept status outputs of this repository that the command just ended made stale.

    The same render and the same protocol as a full status: the inputs are
    described before it reads anything and again after, and a render whose
    inputs moved meanwhile, that warned, or that failed keeps nothing. Nothing
    is printed; a failure is logged like any internal error and costs the next
    status its full time, nothing else. `SGGIT_STATUS_REFRESH=0` skips it.
    """
    try:
        with _environment(environ):
            if not fast_status.refresh_wanted():
                return
            found = fast_status.stale()
            if found is None or not found[1]:
                return
            git_dir, options = found
            from sggit.genome.repo import Genome

            genome = Genome.open(".")
            for fmt, phenotype in options:
                try:
                    with fast_status.Recording(str(genome.git_dir), fmt, phenotype, quiet=True) as recording:
                        text = render(genome, phenotype, fmt)
                except Exception as exc:  # noqa: BLE001 - that status fails now, and the full command will say why
                    fast_status.forget(git_dir, fmt, phenotype)
                    if classify(exc) is None:
                        _log(exc)
                    continue
                if not recording.keep(text) and recording.warned:
                    fast_status.forget(git_dir, fmt, phenotype)
    except KeyboardInterrupt:
        return
    except Exception as exc:  # noqa: BLE001 - a refresh never fails the command it follows
        _log(exc)


def _log(exc: BaseException) -> None:
    try:
        log_traceback(exc)
    except OSError:
        pass
