"""Scenarios the organism must live through, runnable from tests and the demo alike.

The planted regression is `make demo`'s fourth act: the shipped bridge_create
seed with one token flipped, made dominant, for fallback to catch and heal to fix.

The MAC-flapping scenario is issue 5's story, and README's walkthrough step for
step: a naive uplink change "works" (the port moved, the link is up) yet the
upstream switch keeps the bridge's MAC on the old port, the FDB check says so,
and only the convergence timescale notices. The failure context goes to the
engine, the mutant that sends a gratuitous ARP converges, earns fitness and
takes over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from sggit.engines.base import Engine, MutationContext, Proposal
from sggit.errors import UsageError
from sggit.genome import phenostore
from sggit.genome.alleles import allele_source, alleles_at, register_allele
from sggit.genome.fitness import fitness
from sggit.genome.lineage import Lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import live_counters
from sggit.kernel import kinds
from sggit.kernel.api import Kernel
from sggit.kernel.kinds import kind_of
from sggit.runtime.session import mock_description, open_organism

PLANTED_LOCUS = "bridge_create"
PLANT_FROM = "    if name in existing:\n"
PLANT_TO = "    if name not in existing:\n"


def plant_bug(source: str) -> str:
    """The shipped bridge_create seed with its existence check inverted: a one-token regression."""
    if PLANT_FROM not in source:
        raise UsageError(f"cannot plant the demo bug: the {PLANTED_LOCUS} seed has changed")
    return source.replace(PLANT_FROM, PLANT_TO, 1)


def plant_regression(genome: Genome, phenotype: str) -> str:
    """Register the planted bug as a hand edit of the expressed seed, and make it dominant."""
    healthy = phenostore.read_phenotype(genome, phenotype).locus(PLANTED_LOCUS).dominant or alleles_at(genome, PLANTED_LOCUS)[0]
    broken = plant_bug(allele_source(genome, healthy).decode("utf-8"))
    lineage = Lineage(locus=PLANTED_LOCUS, origin="manual", parents=[healthy], note="demo: existence check inverted")  # type: ignore[call-arg]  # extra lineage keys: the model allows them
    planted = register_allele(genome, PLANTED_LOCUS, broken, lineage).id
    phenostore.register_in_phenotype(genome, phenotype, PLANTED_LOCUS, planted, "recessive")
    phenostore.promote(genome, phenotype, PLANTED_LOCUS, planted)
    return planted


class RecordingEngine(Engine):
    """Passes proposals through and keeps every context the organism asked with."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name = inner.name
        self.contexts: list[MutationContext] = []

    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        self.contexts.append(context)
        return self.inner.propose(context, count)


class ScenarioRound(BaseModel):
    uplink: str
    ok: bool
    attempts: list[dict[str, Any]]
    dominant: str | None


class ScenarioReport(BaseModel):
    phenotype: str
    bridge: str
    seed: str
    mutant: str | None = None
    flapping: list[dict[str, Any]] = Field(default_factory=list)
    contexts: list[dict[str, Any]] = Field(default_factory=list)
    rounds: list[ScenarioRound] = Field(default_factory=list)
    fitness: dict[str, float] = Field(default_factory=dict)
    promoted: bool = False
    events: list[str] = Field(default_factory=list)

    def render(self) -> str:
        lines = [f"MAC flapping on {self.bridge} ({self.phenotype}): seed {self.seed[:7]}"]
        for i, r in enumerate(self.rounds, 1):
            tried = ", ".join(f"{a['allele'][:7]} {'ok' if a['ok'] else a['kind']}" for a in r.attempts)
            lines.append(f"  round {i}: uplink -> {r.uplink}: {tried}")
        for item in self.flapping:
            lines.append(f"  flapping: {item['mac']} on {', '.join(item['ports'])}")
        if self.mutant:
            lines.append(f"  mutant {self.mutant[:7]} from the failure context")
        lines.extend(f"  fitness {a[:7]}: {f:.3f}" for a, f in self.fitness.items())
        lines.append(f"  promoted: {'yes' if self.promoted else 'no'}")
        return "\n".join(lines)


def mac_flapping_scenario(root: Path, phenotype: str, engine: Engine, *, rounds: int = 4, bridge: str = "mgmt") -> ScenarioReport:
    """Provision `bridge` on the first NIC, turn on a reflecting switch, then move the uplink back and forth.

    The same steps as README's walkthrough (provision_management_bridge, so the
    bridge carries the first NIC's MAC, then bridge_uplink per move), on a fresh
    in-memory mock host with the phenotype's NICs, so the phenotype's persistent
    mock machine is left alone; fitness records and phenotype commits land in the
    genome at `root` as in any run.
    """
    recorder = RecordingEngine(engine)
    with open_organism(root=root, phenotype=phenotype, kernel=_host(root, phenotype), engine=recorder) as org:
        nics = [nic.name for nic in mock_description(org.genome, phenotype).nics][:2]
        seed = org.phenotype().locus("bridge_uplink").dominant or org.stack("bridge_uplink")[0]
        report = ScenarioReport(phenotype=phenotype, bridge=bridge, seed=seed)
        if not org.run("provision_management_bridge", {"management_bridge": bridge, "uplink_interface": nics[0]}).ok:
            raise RuntimeError(f"could not build {bridge}: provision_management_bridge failed")
        if kind_of(org.kernel).name != "mock":
            raise UsageError("the MAC flapping scenario needs the mock kernel's reflecting switch")
        org.kernel.inject("reflecting_switch")  # type: ignore[attr-defined]
        for number in range(rounds):
            uplink = nics[(number + 1) % 2]
            org.trace.clear()
            result = org.run("bridge_uplink", {"bridge": bridge, "uplink": uplink})
            attempts = [a for a in result.trace if a.locus == "bridge_uplink"]
            for a in attempts:
                if a.allele == seed and a.kind == "convergence" and not report.flapping:
                    report.flapping = [m for d in a.diagnostics if not d["healthy"] for m in (d["output"] or {}).get("flapping_macs", [])]
                if a.origin == "mutation" and a.ok:
                    report.mutant = a.allele
            dominant = org.phenotype().locus("bridge_uplink").dominant
            report.rounds.append(ScenarioRound(uplink=uplink, ok=result.ok, attempts=[a.as_json() for a in attempts], dominant=dominant))
            if report.mutant and dominant == report.mutant:
                break
        entry = org.phenotype().locus("bridge_uplink")
        counters = live_counters(org.genome).get("bridge_uplink", {})
        report.fitness = {a: round(fitness(counters[a], entry.weights), 6) for a in (seed, report.mutant) if a and a in counters}
        report.promoted = bool(report.mutant) and entry.dominant == report.mutant
        report.contexts = [c.model_dump(include={"parent", "parent_source", "error", "diagnostics", "failing_input"}) for c in recorder.contexts]
        report.events = list(org.events)
    return report


def _host(root: Path, phenotype: str) -> Kernel:
    from sggit.runtime.session import choose_phenotype, kernel_target, project_root

    genome = Genome.open(project_root(root))
    return kinds.get("mock").fresh(kernel_target(genome, choose_phenotype(genome, phenotype)))()
