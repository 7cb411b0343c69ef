"""Read-only views of the genome for people: status, show, lineage, why.

Each returns plain data (pydantic models) so the CLI can print text or JSON and
other code (reports, the runtime) can use the same answers.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from pydantic import BaseModel

from sggit.errors import UsageError
from sggit.genome.alleles import (
    allele_count,
    allele_source,
    alleles_at,
    check_locus_name,
    loci,
    locus_of,
    resolve_allele,
)
from sggit.genome.fitness import Counters, fitness, fold
from sggit.genome.lineage import Lineage, read_lineage
from sggit.genome.phenostore import history, phenotype_names, read_map_data, read_phenotype, read_summary
from sggit.genome.phenotype import Weights
from sggit.genome.repo import Genome
from sggit.genome.sync import FitnessView, counters_by_host, journal_path, pending_records, total_counters

SHORT = 12


class LocusStatus(BaseModel):
    locus: str
    dominant: str | None
    fallback_depth: int
    fitness: float | None
    invocations: int
    last_failure: str | None
    last_failure_time: float | None = None


class PhenotypeStatus(BaseModel):
    phenotype: str
    topology: str
    loci: list[LocusStatus]


class Status(BaseModel):
    phenotypes: list[PhenotypeStatus]
    unexpressed_loci: dict[str, int]
    journal_pending_bytes: int


def _unsynced(genome: Genome) -> dict[str, Counters]:
    """This host's journal records not folded into notes yet, so views never lag behind `sggit sync`."""
    return fold(pending_records(genome), genome.host)


def _live_total(genome: Genome, allele: str, unsynced: dict[str, Counters]) -> Counters:
    total = total_counters(genome, allele)
    return total + unsynced[allele] if allele in unsynced else total


def live_by_host(genome: Genome, allele: str) -> dict[str, Counters]:
    """An allele's counters per host, this host's including its unsynced journal."""
    by_host = counters_by_host(genome, allele)
    extra = _unsynced(genome).get(allele)
    if extra is not None:
        by_host[genome.host] = by_host[genome.host] + extra if genome.host in by_host else extra
    return by_host


def status(genome: Genome, phenotype: str | None = None) -> Status:
    """Per locus of each phenotype: dominant, depth, fitness, latest failure at the locus.

    Reads each map's cached summary, the dominant's notes, one failure entry per
    host and locus, and this host's unsynced journal, so the cost follows loci and
    hosts, not alleles, and the view never lags behind `sggit sync`.
    """
    names = [phenotype] if phenotype else phenotype_names(genome)
    unsynced = _unsynced(genome)
    out: list[PhenotypeStatus] = []
    expressed: set[str] = set()
    view = FitnessView(genome)
    for name in names:
        summary = read_summary(genome, name)
        rows: list[LocusStatus] = []
        for locus in sorted(summary.loci):
            entry = summary.loci[locus]
            expressed.add(locus)
            dom = entry.dominant
            counters = view.total(dom) if dom else Counters()
            if dom in unsynced:
                counters = counters + unsynced[dom]
            failure = view.locus_failure(locus, partial(_stack, genome, name, locus))
            for c in unsynced.values():
                if c.locus == locus and c.last_failure and (failure is None or c.last_failure.time > failure.time):
                    failure = c.last_failure
            rows.append(LocusStatus(
                locus=locus,
                dominant=dom,
                fallback_depth=entry.depth,
                fitness=fitness(counters, entry.weights) if dom else None,
                invocations=counters.total,
                last_failure=failure.error if failure else None,
                last_failure_time=failure.time if failure else None,
            ))
        out.append(PhenotypeStatus(phenotype=name, topology=summary.topology, loci=rows))
    view.save()
    unexpressed = {locus: allele_count(genome, locus) for locus in loci(genome) if locus not in expressed}
    path = journal_path(genome)
    pending = path.stat().st_size if path.exists() else 0
    return Status(phenotypes=out, unexpressed_loci=unexpressed, journal_pending_bytes=pending)


def _stack(genome: Genome, name: str, locus: str) -> list[str]:
    return read_phenotype(genome, name).locus(locus).stack


class Expression(BaseModel):
    phenotype: str
    state: str
    position: int | None


class AlleleView(BaseModel):
    id: str
    locus: str
    source: str
    lineage: Lineage | None
    fitness_by_host: dict[str, Counters]
    total: Counters
    fitness: float
    expressed_in: list[Expression]


def show(genome: Genome, allele_text: str) -> AlleleView:
    allele = resolve_allele(genome, allele_text)
    locus = locus_of(genome, allele) or "?"
    view = FitnessView(genome)
    by_host = view.by_host(allele, keep=True)
    extra = _unsynced(genome).get(allele)
    if extra is not None:
        by_host = dict(by_host)
        by_host[genome.host] = by_host[genome.host] + extra if genome.host in by_host else extra
    total = Counters()
    for c in by_host.values():
        total = total + c
    kept = view.keep(f"show {allele} {locus}", lambda: _expression(genome, allele, locus))
    view.save()
    expressed = [Expression.model_validate(e) for e in kept["expressed"]]
    weights = Weights.model_validate(kept["weights"]) if kept["weights"] else None
    return AlleleView(
        id=allele, locus=locus, source=allele_source(genome, allele).decode("utf-8", errors="replace"),
        lineage=read_lineage(genome, allele), fitness_by_host=by_host, total=total,
        fitness=fitness(total, weights), expressed_in=expressed,
    )


def _expression(genome: Genome, allele: str, locus: str) -> dict[str, Any]:
    """Where an allele is expressed, and its locus's weights: one pass over each map (its cached data)."""
    expressed: list[dict[str, Any]] = []
    weights = None
    for name in phenotype_names(genome):
        entry = read_map_data(genome, name)["loci"].get(locus)
        if entry and allele in entry["alleles"]:
            weights = weights or entry.get("weights")
            pos = entry["stack"].index(allele) if allele in entry["stack"] else None
            expressed.append({"phenotype": name, "state": entry["alleles"][allele]["state"], "position": pos})
    return {"expressed": expressed, "weights": weights}


class LineageNode(BaseModel):
    id: str
    locus: str
    origin: str
    parents: list[str]
    generation: int
    engine: str | None = None
    time: float | None = None


def lineage_nodes(genome: Genome, target: str) -> tuple[str, list[LineageNode]]:
    """The ancestry of a locus (all its alleles) or of one allele (its ancestors and descendants)."""
    if target in loci(genome):
        ids = alleles_at(genome, target)
        focus = target
    else:
        try:
            check_locus_name(target)
            is_name = not all(c in "0123456789abcdef" for c in target.lower())
        except UsageError:
            is_name = False
        if is_name:
            raise UsageError(f"no locus {target} in the genome", hint="give a locus with registered alleles or an allele id")
        focus = resolve_allele(genome, target)
        locus = locus_of(genome, focus) or ""
        ids = alleles_at(genome, locus)
    notes = {a: read_lineage(genome, a) for a in ids}
    nodes = {a: LineageNode(id=a, locus=n.locus, origin=n.origin, parents=n.parents, generation=n.generation, engine=n.engine, time=n.time)
             if n else LineageNode(id=a, locus="?", origin="unknown", parents=[], generation=0) for a, n in notes.items()}
    if focus in nodes:
        keep = {focus}
        frontier = [focus]
        while frontier:
            current = frontier.pop()
            for p in nodes[current].parents:
                if p in nodes and p not in keep:
                    keep.add(p)
                    frontier.append(p)
        children: dict[str, list[str]] = {}
        for a, node in nodes.items():
            for p in node.parents:
                children.setdefault(p, []).append(a)
        frontier = [focus]
        while frontier:
            current = frontier.pop()
            for c in children.get(current, []):
                if c not in keep:
                    keep.add(c)
                    frontier.append(c)
        nodes = {a: n for a, n in nodes.items() if a in keep}
    return focus, sorted(nodes.values(), key=lambda n: (n.generation, n.time or 0, n.id))


def render_tree(nodes: list[LineageNode]) -> str:
    by_id = {n.id: n for n in nodes}
    children: dict[str, list[LineageNode]] = {}
    roots: list[LineageNode] = []
    for n in nodes:
        present = [p for p in n.parents if p in by_id]
        if not present:
            roots.append(n)
        for p in present:
            children.setdefault(p, []).append(n)
    lines: list[str] = []
    printed: set[str] = set()

    def label(n: LineageNode) -> str:
        extra = f" [{n.engine}]" if n.engine else ""
        return f"{n.id[:SHORT]} {n.origin} gen {n.generation}{extra}"

    def walk(n: LineageNode, prefix: str, last: bool, top: bool) -> None:
        connector = "" if top else ("`-- " if last else "|-- ")
        if n.id in printed:
            lines.append(f"{prefix}{connector}{n.id[:SHORT]} (see above)")
            return
        printed.add(n.id)
        lines.append(f"{prefix}{connector}{label(n)}")
        kids = children.get(n.id, [])
        for i, kid in enumerate(kids):
            walk(kid, prefix + ("" if top else ("    " if last else "|   ")), i == len(kids) - 1, False)

    for root in roots:
        walk(root, "", True, True)
    return "\n".join(lines)


def render_dot(nodes: list[LineageNode]) -> str:
    lines = ["digraph lineage {", "  rankdir=TB;"]
    for n in nodes:
        lines.append(f'  "{n.id[:SHORT]}" [label="{n.id[:SHORT]}\\n{n.origin} gen {n.generation}"];')
    ids = {n.id for n in nodes}
    for n in nodes:
        for p in n.parents:
            if p in ids:
                lines.append(f'  "{p[:SHORT]}" -> "{n.id[:SHORT]}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t)) if t else "an unknown time"


def why(genome: Genome, allele_text: str) -> str:
    """One paragraph: where the allele came from and why each phenotype does or does not express it."""
    view = show(genome, allele_text)
    short = view.id[:SHORT]
    lin = view.lineage
    parts: list[str] = []
    if lin is None:
        parts.append(f"Allele {short} at locus {view.locus} has no lineage note, so its origin is unknown.")
    else:
        origin = {
            "seed": "is a seed written by a person",
            "manual": "was registered by hand",
            "mutation": "was produced by mutation",
            "crossover": "was bred by crossover",
            "fusion": "was produced by fusing a pathway",
            "import": "was imported from another genome",
        }[lin.origin]
        sentence = f"Allele {short} at locus {view.locus} {origin}"
        if lin.path:
            sentence += f" ({lin.path})"
        if lin.parents:
            sentence += f" from {', '.join(p[:SHORT] for p in lin.parents)}"
        if lin.engine:
            sentence += f" by the {lin.engine} engine" + (f" ({lin.model})" if lin.model else "")
        sentence += f", generation {lin.generation}, on {lin.host} at {_when(lin.time)}"
        if lin.failure is not None and lin.failure.error:
            sentence += f", after its parent failed with: {lin.failure.error}"
        parts.append(sentence + ".")
    t = view.total
    if t.total:
        parts.append(f"It has {t.successes} successes in {t.total} invocations across {len(view.fitness_by_host)} host(s), fitness {view.fitness:.3f}.")
    else:
        parts.append("It has no recorded invocations yet.")
    if not view.expressed_in:
        parts.append("No phenotype expresses it.")
    for ex in view.expressed_in:
        changes = history(genome, ex.phenotype)
        last = next((c for c in changes if c.trailers.get("Sggit-Allele") == view.id), None)
        how = ""
        if last is None and changes:
            created = changes[-1]
            how = f" since the phenotype was created ({created.commit[:SHORT]}, {_when(created.time)})"
        elif last is not None:
            fit = last.trailers.get("Sggit-Fitness")
            how = f" since `{last.summary}` ({last.commit[:SHORT]}, {_when(last.time)}{', fitness ' + fit if fit else ''})"
        if ex.state == "dominant":
            depth = len(read_phenotype(genome, ex.phenotype).loci[view.locus].stack) - 1
            parts.append(f"In {ex.phenotype} it is dominant{how}, with {depth} fallback(s) behind it.")
        else:
            dom = read_phenotype(genome, ex.phenotype).loci[view.locus].dominant
            rival = f"; {dom[:SHORT]} is dominant there with fitness {fitness(_live_total(genome, dom, _unsynced(genome))):.3f}" if dom else ""
            where = f" at fallback position {ex.position}" if ex.position else ""
            parts.append(f"In {ex.phenotype} it is {ex.state}{where}{how}{rival}.")
    return " ".join(parts)


def as_json(model: BaseModel | list[Any]) -> Any:
    if isinstance(model, list):
        return [m.model_dump(mode="json") if isinstance(m, BaseModel) else m for m in model]
    return model.model_dump(mode="json")
