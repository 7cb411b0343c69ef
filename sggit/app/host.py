"""Host mode: one scheduled cycle on a deployed host, what the shipped systemd timer runs.

The paradigm's resilience fitness comes from diagnostics that keep running after a
deployment. A cycle re-runs the scheduled checks of everything deployed in the
phenotype (`watch`, one round each) and the verify checks that came due, folds
the journal into this host's fitness notes (`sync`), and shares them (`push`).
The timer fires often; the phenotype's `[settings] host_interval` decides how
often a cycle really runs, so the interval is versioned with the phenotype map.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from sggit.errors import UsageError
from sggit.fsutil import atomic_write_text
from sggit.genome import phenostore
from sggit.genome.gitproc import require_remote
from sggit.genome.repo import Genome
from sggit.genome.sync import sync
from sggit.runtime.temporal import Deployment, parse_duration, read_lines, temporal_dir

DEFAULT_INTERVAL = "5m"


class HostCycle(BaseModel):
    phenotype: str
    ran: bool
    interval_seconds: float
    next_in_seconds: float = 0.0
    watched: list[dict[str, Any]] = Field(default_factory=list)
    verified: list[dict[str, Any]] = Field(default_factory=list)
    synced_records: int = 0
    pushed: list[str] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(r["healthy"] for r in self.watched) and not any(r["status"] == "unhealthy" for r in self.verified)


def interval_of(genome: Genome, phenotype: str) -> float:
    """Seconds between cycles: the phenotype's `[settings] host_interval` (`30s`, `5m`, `1h`)."""
    from sggit.runtime.settings import problem

    value = phenostore.read_phenotype(genome, phenotype).settings.get("host_interval", DEFAULT_INTERVAL)
    said = problem("host_interval", value)
    if said is not None:
        raise UsageError(f"phenotype {phenotype}: {said}")
    return parse_duration(str(value))


def deployed_targets(genome: Genome, phenotype: str) -> list[str]:
    """Every pathway or locus run in this phenotype that left checks to re-run, in first-deployed order."""
    seen: dict[str, None] = {}
    for d in read_lines(temporal_dir(genome) / f"deployed-{phenotype}.jsonl", Deployment):
        seen.setdefault(d.target, None)
    return list(seen)


def _stamp(genome: Genome, phenotype: str) -> Path:
    return temporal_dir(genome) / f"host-cycle-{phenotype}.json"


def _last_cycle(genome: Genome, phenotype: str) -> float | None:
    try:
        return float(json.loads(_stamp(genome, phenotype).read_text())["finished"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def host_cycle(root: Path, phenotype: str, *, remote: str | None = "origin", kernel: str = "mock", netns: str | None = None,
               force: bool = False, now: float | None = None) -> HostCycle:
    """One cycle when the phenotype's interval has passed since the last one (or `force`)."""
    from sggit.genome.fleet import push
    from sggit.runtime.session import open_organism

    genome = Genome.open(root)
    phenostore.read_phenotype(genome, phenotype)
    if remote is not None:
        require_remote(genome.git_dir, remote)  # a typo is said before the checks run, not after them at push time
    every = interval_of(genome, phenotype)
    now = time.time() if now is None else now
    last = _last_cycle(genome, phenotype)
    if not force and last is not None and now - last < every:
        return HostCycle(phenotype=phenotype, ran=False, interval_seconds=every, next_in_seconds=round(every - (now - last), 1))
    cycle = HostCycle(phenotype=phenotype, ran=True, interval_seconds=every)
    with open_organism(root=root, phenotype=phenotype, kernel=kernel, netns=netns) as organism:
        for target in deployed_targets(genome, phenotype):
            cycle.watched += organism.watch(target, every, 1)
        cycle.verified = organism.verify_due(wait=False)
    cycle.synced_records = sync(genome).records
    if remote is not None:
        report = push(genome, remote)
        cycle.pushed = [c.ref for c in report.pushed]
        cycle.conflicts = [c.ref for c in report.conflicts] + list(report.rejected)
    atomic_write_text(_stamp(genome, phenotype), json.dumps({"finished": now}) + "\n")
    return cycle
