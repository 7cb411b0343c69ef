"""Read-only views of the genome for people: status, show, lineage, why.

Each returns plain data (pydantic models) so the CLI can print text or JSON and
other code (reports, the runtime) can use the same answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
    loci_of,
    locus_of,
    resolve_allele,
)
from sggit.genome.fitness import ByLocus, Counters, Record, advance, fitness, fold, locus_key, under_phenotype
from sggit.genome.lineage import Lineage, read_lineage, read_lineages
from sggit.genome.phenostore import history, phenotype_names, read_map_data, read_phenotype, read_summary
from sggit.genome.phenotype import Weights
from sggit.genome.repo import Genome
from sggit.genome.said import failure_detail, one_line
from sggit.genome.sync import FitnessView, journal_path, pending_records, total_counters

SHORT = 12


class LocusStatus(BaseModel):
    locus: str
    dominant: str | None
    fallback_depth: int
    fitness: float | None
    """Of the dominant under this phenotype: what its runs here earned."""
    invocations: int
    fitness_all: float | None = None
    """Of the dominant under every phenotype that expresses it (the figure promotion decides on)."""
    invocations_all: int = 0
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


def _unsynced(genome: Genome) -> ByLocus:
    """This host's journal records not folded into notes yet, so views never lag behind `sggit sync`."""
    return fold(pending_records(genome), genome.host)


def _live_total(genome: Genome, locus: str, allele: str, unsynced: ByLocus) -> Counters:
    total = total_counters(genome, locus, allele)
    extra = unsynced.get(locus, {}).get(allele)
    return total + extra if extra is not None else total


def status(genome: Genome, phenotype: str | None = None) -> Status:
    """Per locus of each phenotype: dominant, depth, fitness, latest failure at the locus.

    Reads each map's cached summary, the dominant's notes, one failure entry per
    host and locus, and this host's unsynced journal, so the cost follows loci and
    hosts, not alleles, and the view never lags behind `sggit sync`.
    """
    names = [phenotype] if phenotype is not None else phenotype_names(genome)  # `--phenotype ''` names none
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
            counters = view.total(locus, dom) if dom else Counters()
            if dom in unsynced.get(locus, {}):
                counters = counters + unsynced[locus][dom]
            failure = view.locus_failure(locus, partial(_stack, genome, name, locus))
            for c in unsynced.get(locus, {}).values():
                if c.last_failure and (failure is None or c.last_failure.time > failure.time):
                    failure = c.last_failure
            here = under_phenotype(counters, name)
            rows.append(LocusStatus(
                locus=locus,
                dominant=dom,
                fallback_depth=entry.depth,
                fitness=fitness(here, entry.weights) if dom else None,
                invocations=here.total,
                fitness_all=fitness(counters, entry.weights) if dom else None,
                invocations_all=counters.total,
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


class AlleleAtLocus(BaseModel):
    """What one (locus, allele) pair has: the blob is shared between loci, its records are not."""

    locus: str
    lineage: Lineage | None
    hosts: int
    """How many hosts have counters of the pair (this one included once it ran the pair)."""
    fitness_by_host: dict[str, Counters] | None = None
    """Only when asked for: one note per host to read, where the rest costs the same with 1 host or 50."""
    total: Counters
    fitness: float
    fitness_by_phenotype: dict[str, float]
    expressed_in: list[Expression]


class AlleleView(BaseModel):
    id: str
    source: str
    loci: list[AlleleAtLocus]


def show(genome: Genome, allele_text: str, locus: str | None = None, *, hosts: bool = False) -> AlleleView:
    """An allele at every locus it is registered at (or only at `locus`), each with its own records;
    `hosts` adds each host's counters."""
    allele = resolve_allele(genome, allele_text)
    view = FitnessView(genome)
    pending = pending_records(genome)
    unsynced = fold(pending, genome.host)
    lineages = read_lineages(genome, allele)
    registered = loci_of(genome, allele)
    where = registered or sorted(set(lineages) | view.loci(allele) | {lo for lo, a in unsynced.items() if allele in a}) or ["?"]
    if locus is not None:
        if locus not in where:
            raise UsageError(f"allele {allele[:SHORT]} is not registered at locus {locus}", hint=f"it is at {', '.join(where)}")
        where = [locus]
    out = [_at_locus(genome, view, allele, lo, lineages.get(lo), unsynced, pending, hosts) for lo in where]
    view.save()
    return AlleleView(id=allele, source=allele_source(genome, allele).decode("utf-8", errors="replace"), loci=out)


def _at_locus(genome: Genome, view: FitnessView, allele: str, locus: str, lineage: Lineage | None, unsynced: ByLocus,
              pending: list[Record], hosts: bool) -> AlleleAtLocus:
    extra = unsynced.get(locus, {}).get(allele)
    live: Callable[[Counters | None], Counters] | None = None
    if extra is not None:
        records = [r for r in pending if r.allele == allele and locus_key(r.locus) == locus]

        def live(synced: Counters | None) -> Counters:
            # This host's streak continues from its synced one, as the arena's does.
            base = synced or Counters(locus=locus)
            out = base + extra
            out.streak, out.takeback = advance(base.model_copy(), records).streak_state()
            return out

    total, count = view.fleet(locus, allele, live)
    by_host = None
    if hosts:
        by_host = dict(view.by_host(locus, allele, keep=True))
        if live is not None:
            by_host[genome.host] = live(by_host.get(genome.host))
    kept = view.keep(f"show {allele} {locus}", lambda: _expression(genome, allele, locus))
    expressed = [Expression.model_validate(e) for e in kept["expressed"]]
    weights = Weights.model_validate(kept["weights"]) if kept["weights"] else None
    return AlleleAtLocus(
        locus=locus, lineage=lineage, hosts=count, fitness_by_host=by_host, total=total, fitness=fitness(total, weights),
        fitness_by_phenotype={name: fitness(t, weights) for name, t in total.phenotypes.items()}, expressed_in=expressed,
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


def lineage_nodes(genome: Genome, target: str, locus: str | None = None) -> tuple[str, list[LineageNode]]:
    """The ancestry of a locus (all its alleles) or of one allele (its ancestors and descendants).

    An allele registered at several loci has a lineage at each: one tree per
    locus (or only `locus`'s).
    """
    if target in loci(genome):
        return target, _locus_nodes(genome, target, None)
    try:
        check_locus_name(target)
        is_name = not all(c in "0123456789abcdef" for c in target.lower())
    except UsageError:
        is_name = False
    if is_name:
        raise UsageError(f"no locus {target} in the genome", hint="give a locus with registered alleles or an allele id")
    focus = resolve_allele(genome, target)
    where = loci_of(genome, focus) or [locus_of(genome, focus) or ""]
    if locus is not None:
        if locus not in where:
            raise UsageError(f"allele {focus[:SHORT]} is not registered at locus {locus}", hint=f"it is at {', '.join(where)}")
        where = [locus]
    return focus, [node for lo in where for node in _locus_nodes(genome, lo, focus)]


def _locus_nodes(genome: Genome, locus: str, focus: str | None) -> list[LineageNode]:
    ids = alleles_at(genome, locus)
    notes = {a: read_lineage(genome, locus, a) for a in ids}
    nodes = {a: LineageNode(id=a, locus=n.locus, origin=n.origin, parents=n.parents, generation=n.generation, engine=n.engine, time=n.time)
             if n else LineageNode(id=a, locus=locus or "?", origin="unknown", parents=[], generation=0) for a, n in notes.items()}
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
    return sorted(nodes.values(), key=lambda n: (n.generation, n.time or 0, n.id))


def _by_locus(nodes: list[LineageNode]) -> dict[str, list[LineageNode]]:
    groups: dict[str, list[LineageNode]] = {}
    for n in nodes:
        groups.setdefault(n.locus, []).append(n)
    return groups


def render_tree(nodes: list[LineageNode]) -> str:
    """One tree per locus; a header names the locus when there are several."""
    groups = _by_locus(nodes)
    if len(groups) > 1:
        return "\n".join(f"locus {locus}:\n" + _render_one(group) for locus, group in groups.items())
    return _render_one(nodes)


def _render_one(nodes: list[LineageNode]) -> str:
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
        extra = f" [{one_line(n.engine)}]" if n.engine else ""
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
    several = len(_by_locus(nodes)) > 1

    def key(n: LineageNode, allele: str) -> str:
        return f"{n.locus}:{allele[:SHORT]}" if several else allele[:SHORT]

    lines = ["digraph lineage {", "  rankdir=TB;"]
    for n in nodes:
        lines.append(f'  "{key(n, n.id)}" [label="{n.id[:SHORT]}\\n{n.origin} gen {n.generation}"];')
    ids = {(n.locus, n.id) for n in nodes}
    for n in nodes:
        for p in n.parents:
            if (n.locus, p) in ids:
                lines.append(f'  "{key(n, p)}" -> "{key(n, n.id)}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t)) if t else "an unknown time"


def why(genome: Genome, allele_text: str, locus: str | None = None) -> str:
    """Per locus the allele fills, one paragraph: where it came from there and why each phenotype does
    or does not express it."""
    view = show(genome, allele_text, locus)
    return "\n\n".join(_why_at(genome, view.id, at) for at in view.loci)


def _why_at(genome: Genome, allele: str, view: AlleleAtLocus) -> str:
    short = allele[:SHORT]
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
            sentence += f" by the {one_line(lin.engine)} engine" + (f" ({one_line(lin.model)})" if lin.model else "")
        sentence += f", generation {lin.generation}, on {one_line(lin.host)} at {_when(lin.time)}"
        if lin.failure is not None and lin.failure.error:
            sentence += f", after its parent failed with: {failure_detail(lin.failure.error)}"
        parts.append(sentence + ".")
    t = view.total
    if t.total:
        parts.append(f"It has {_count(t.successes, 'success', 'successes')} in {_count(t.total, 'invocation', 'invocations')}"
                     f" across {_count(view.hosts, 'host', 'hosts')}, fitness {view.fitness:.3f}.")
    else:
        parts.append("It has no recorded invocations yet.")
    if not view.expressed_in:
        parts.append("No phenotype expresses it.")
    for ex in view.expressed_in:
        changes = history(genome, ex.phenotype)
        last = next((c for c in changes if c.trailers.get("Sggit-Allele") == allele and c.trailers.get("Sggit-Locus", view.locus) == view.locus), None)
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
            rival = f"; {dom[:SHORT]} is dominant there with fitness {fitness(_live_total(genome, view.locus, dom, _unsynced(genome))):.3f}" if dom else ""
            where = f" at fallback position {ex.position}" if ex.position else ""
            parts.append(f"In {ex.phenotype} it is {ex.state}{where}{how}{rival}.")
    return " ".join(parts)


def as_json(model: BaseModel | list[Any]) -> Any:
    if isinstance(model, list):
        return [m.model_dump(mode="json") if isinstance(m, BaseModel) else m for m in model]
    return model.model_dump(mode="json")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
