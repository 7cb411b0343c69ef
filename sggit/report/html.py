"""The genome report: what a reviewer or an operator wants to see at a glance, as static files.

`build_report` gathers plain data (pydantic models) from git only: phenotype maps,
lineage notes, every host's fitness notes and their history, the phenotype
branches' logs. `render_html` and `render_markdown` turn it into a page with
inline SVG (no scripts, no external resources) or markdown for a CI job summary.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pygit2
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field

from sggit.fsutil import atomic_write_text
from sggit.genome.alleles import alleles_at, loci
from sggit.genome.fitness import Counters, fitness
from sggit.genome.lineage import Lineage, all_lineage
from sggit.genome.phenostore import history, phenotype_names, read_phenotype
from sggit.genome.phenotype import Weights
from sggit.genome.repo import Genome
from sggit.genome.said import failure_detail
from sggit.genome.sync import (
    fitness_hosts,
    fitness_ref,
    host_counters,
    live_counters,
    pending_records,
    read_counters_note,
)

HISTORY_COMMITS = 200
RECENT = 20
STATE_COLOURS = {
    "dominant": "#1b7f3b",
    "recessive": "#2f6fb5",
    "shadow": "#8a63b8",
    "demoted": "#c0392b",
    "retired": "#7f7f7f",
    "unexpressed": "#b0b0b0",
}
LINEAGE_BACKGROUND = "#f3f8f4"
SERIES_COLOURS = ("#e4572e", "#17bebb", "#ffc914", "#76b041", "#2e282a", "#a23b72")


class AlleleRow(BaseModel):
    id: str
    state: str
    fitness: float | None
    """Over every phenotype and host."""
    invocations: int
    successes: int
    here: float | None = None
    """Fitness from the runs under this row's phenotype only."""
    here_invocations: int = 0
    here_successes: int = 0
    origin: str
    engine: str | None = None
    generation: int = 0
    last_failure: str | None = None


class Point(BaseModel):
    time: float
    fitness: float


class Series(BaseModel):
    allele: str
    colour: str
    points: list[Point]


class GraphNode(BaseModel):
    id: str
    x: float
    y: float
    colour: str
    label: str


class GraphEdge(BaseModel):
    x1: float
    y1: float
    x2: float
    y2: float


class LocusReport(BaseModel):
    locus: str
    health: str = "idle"
    alleles: list[AlleleRow]
    nodes: list[GraphNode] = Field(default_factory=list)
    edges: list[GraphEdge] = Field(default_factory=list)
    width: int = 0
    height: int = 0
    series: list[Series] = Field(default_factory=list)
    chart: dict[str, object] = Field(default_factory=dict)
    mermaid: str = ""


class FailureRow(BaseModel):
    time: float
    locus: str
    allele: str
    host: str | None
    error: str


class MutationRow(BaseModel):
    time: float
    locus: str
    allele: str
    origin: str
    engine: str | None
    parents: list[str]
    error: str | None


class ChangeRow(BaseModel):
    time: int
    commit: str
    summary: str
    action: str | None


class PhenotypeReport(BaseModel):
    name: str
    topology: str
    loci: list[LocusReport]
    idle: list[str] = Field(default_factory=list)
    history: list[ChangeRow]

    @property
    def shown(self) -> list[LocusReport]:
        return [locus for locus in self.loci if locus.locus not in self.idle]


class PendingReview(BaseModel):
    phenotype: str
    locus: str
    allele: str
    branch: str


class HostRow(BaseModel):
    host: str
    alleles: int
    invocations: int
    successes: int
    convergence: str
    resilience: str
    last_time: float


class Summary(BaseModel):
    loci: int = 0
    healthy: int = 0
    failing: list[str] = Field(default_factory=list)
    idle: int = 0
    pending: list[PendingReview] = Field(default_factory=list)
    mutations: int = 0
    heals: int = 0


class Report(BaseModel):
    generated: float
    hosts: list[str]
    summary: Summary = Field(default_factory=Summary)
    phenotypes: list[PhenotypeReport]
    fleet: list[HostRow] = Field(default_factory=list)
    failures: list[FailureRow]
    mutations: list[MutationRow]


Pair = tuple[str, str]
"""(locus, allele)."""


def fitness_history(genome: Genome, weights_of: dict[str, Weights | None], failures: dict[tuple[str, str, float], FailureRow] | None = None) -> dict[Pair, list[Point]]:
    """Fitness of each (locus, allele) after every fitness-notes commit of any host, summed over hosts.

    Each host's notes commit is a snapshot of that host's counters, so walking the
    hosts' histories in time order and summing the latest snapshot per host gives
    the fleet's view at each moment. Each snapshot's last failures are collected
    into `failures` on the way: every failure a sync saw, not only the newest.
    """
    events: list[tuple[float, str, pygit2.Commit]] = []
    for host in fitness_hosts(genome):
        oid = genome.target(fitness_ref(host))
        for _ in range(HISTORY_COMMITS):
            if oid is None:
                break
            commit = genome.repo[oid].peel(pygit2.Commit)
            events.append((float(commit.commit_time), host, commit))
            oid = commit.parent_ids[0] if commit.parent_ids else None
    events.sort(key=lambda e: (e[0], e[1]))
    latest: dict[str, dict[Pair, Counters]] = {}
    out: dict[Pair, list[Point]] = {}
    for when, host, commit in events:
        snapshot = _snapshot(genome.repo, commit.tree)
        if failures is not None:
            for (locus, allele), c in snapshot.items():
                f = c.last_failure
                if f is not None:
                    failures[(allele, f.host or host, f.time)] = FailureRow(time=f.time, locus=locus or "?", allele=allele, host=f.host or host, error=f.error)
        previous = latest.get(host, {})
        latest[host] = snapshot
        for pair in (k for k, c in snapshot.items() if previous.get(k) != c):
            total = Counters()
            for per_host in latest.values():
                if pair in per_host:
                    total = total + per_host[pair]
            out.setdefault(pair, []).append(Point(time=when, fitness=fitness(total, weights_of.get(pair[0]))))
    return out


def _snapshot(repo: pygit2.Repository, tree: pygit2.Tree) -> dict[Pair, Counters]:
    out: dict[Pair, Counters] = {}
    stack: list[tuple[str, pygit2.Tree]] = [("", tree)]
    while stack:
        prefix, current = stack.pop()
        for item in current:
            obj = repo[item.id]
            name = prefix + (item.name or "")
            if isinstance(obj, pygit2.Tree):
                stack.append((name, obj))
            elif isinstance(obj, pygit2.Blob) and all(c in "0123456789abcdef" for c in name):
                try:
                    loci = read_counters_note(obj.data)
                except (ValueError, TypeError, RecursionError):
                    continue
                out.update(((locus, name), c) for locus, c in loci.items())
    return out


def _graph(alleles: list[AlleleRow], lineage: dict[str, Lineage]) -> tuple[list[GraphNode], list[GraphEdge], int, int]:
    """Alleles in columns by generation; an edge from each parent present at the locus."""
    columns: dict[int, list[AlleleRow]] = {}
    for row in alleles:
        columns.setdefault(row.generation, []).append(row)
    gens = sorted(columns)
    place: dict[str, tuple[float, float]] = {}
    nodes: list[GraphNode] = []
    for col, gen in enumerate(gens):
        for index, row in enumerate(columns[gen]):
            x, y = 60 + col * 150, 40 + index * 60
            place[row.id] = (x, y)
            nodes.append(GraphNode(id=row.id, x=x, y=y, colour=STATE_COLOURS.get(row.state, "#b0b0b0"), label=row.id[:7]))
    edges = [
        GraphEdge(x1=place[p][0] + 16, y1=place[p][1], x2=place[a][0] - 16, y2=place[a][1])
        for a in place
        for p in (lineage[a].parents if a in lineage else [])
        if p in place
    ]
    width = 120 + max(len(gens) - 1, 0) * 150
    height = 80 + max((len(c) for c in columns.values()), default=1) * 60 - 60
    return nodes, edges, max(width, 200), max(height, 80)


TICKS = 5
LABEL_GAP = 12


def _spread(ys: list[float], gap: float, low: float, high: float) -> list[float]:
    """Label positions at least `gap` apart, each as near its line's end as that allows."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    placed = [0.0] * len(ys)
    last = low - gap
    for i in order:
        last = max(ys[i], last + gap)
        placed[i] = last
    overflow = last - high
    if overflow > 0:
        for i in order:
            placed[i] -= overflow
    return placed


def _chart(series: list[Series], now: float) -> dict[str, object]:
    """Polylines in a 560x180 plot; time on x with several ticks, fitness 0..1 on y, labels apart."""
    times = [p.time for s in series for p in s.points] or [now]
    t0, t1 = min(times), max(max(times), now)
    span = (t1 - t0) or 1.0
    left, top, width, height = 40, 10, 520, 160
    lines: list[dict[str, Any]] = []
    for s in series:
        pts = [(left + (p.time - t0) / span * width, top + (1 - p.fitness) * height) for p in s.points]
        if len(pts) == 1:
            pts.append((left + width, pts[0][1]))
        markers = [(left + (p.time - t0) / span * width, top + (1 - p.fitness) * height) for p in s.points]
        lines.append({"allele": s.allele[:7], "colour": s.colour, "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in pts), "last": pts[-1], "markers": markers})
    labels = _spread([line["last"][1] + 4 for line in lines], LABEL_GAP, top + 4, top + height + 4)
    for line, y in zip(lines, labels, strict=False):
        line["label_y"] = round(y, 1)
    fmt = "%H:%M" if span < 86400 else "%m-%d %H:%M"
    ticks = [{"x": left + i * width / (TICKS - 1), "text": time.strftime(fmt, time.gmtime(t0 + i * span / (TICKS - 1)))} for i in range(TICKS)]
    return {
        "lines": lines,
        "left": left, "top": top, "width": width, "height": height,
        "ticks": ticks,
        "start": time.strftime("%Y-%m-%d %H:%M", time.gmtime(t0)),
        "end": time.strftime("%Y-%m-%d %H:%M", time.gmtime(t1)),
    }


def _mermaid(alleles: list[AlleleRow], lineage: dict[str, Lineage]) -> str:
    ids = {a.id for a in alleles}
    lines = ["graph LR"]
    lines += [f"  a{a.id[:7]}[\"{a.id[:7]} {a.state}\"]" for a in alleles]
    lines += [f"  a{p[:7]} --> a{a.id[:7]}" for a in alleles for p in (lineage[a.id].parents if a.id in lineage else []) if p in ids]
    return "\n".join(lines)


def _lineage_by_locus(genome: Genome) -> dict[str, dict[str, Lineage]]:
    out: dict[str, dict[str, Lineage]] = {}
    for allele, by_locus in all_lineage(genome).items():
        for locus, note in by_locus.items():
            out.setdefault(locus, {})[allele] = note
    return out


def _here(c: Counters, phenotype: str, weights: Weights | None) -> tuple[float | None, int, int]:
    t = c.phenotypes.get(phenotype)
    if t is None or not (t.total or t.convergence_total or t.resilience_total):
        return None, 0, 0
    return fitness(t, weights), t.total, t.successes


def build_report(genome: Genome, phenotypes: list[str] | None = None) -> Report:
    now = time.time()
    counters = live_counters(genome)
    lineages = _lineage_by_locus(genome)
    names = phenotypes or phenotype_names(genome)
    maps = {name: read_phenotype(genome, name) for name in names}
    weights_of: dict[str, Weights | None] = {}
    for pmap in maps.values():
        for locus, entry in pmap.loci.items():
            weights_of.setdefault(locus, entry.weights)
    seen_failures: dict[tuple[str, str, float], FailureRow] = {}
    timeline = fitness_history(genome, weights_of, seen_failures)
    out: list[PhenotypeReport] = []
    registered = set(loci(genome))
    for name, pmap in maps.items():
        rows: list[LocusReport] = []
        for locus in sorted(set(pmap.loci) | registered):
            entry = pmap.locus(locus)
            ids = list(entry.stack) + [a for a in entry.alleles if a not in entry.stack] + [a for a in alleles_at(genome, locus) if a not in entry.alleles]
            at = counters.get(locus, {})
            lineage = lineages.get(locus, {})
            alleles = []
            for allele in ids:
                c = at.get(allele, Counters())
                note = lineage.get(allele)
                here, here_n, here_ok = _here(c, name, entry.weights)
                alleles.append(AlleleRow(
                    id=allele,
                    state=entry.alleles[allele].state if allele in entry.alleles else "unexpressed",
                    fitness=fitness(c, entry.weights) if c.total or c.convergence_total or c.resilience_total else None,
                    invocations=c.total,
                    successes=c.successes,
                    here=here,
                    here_invocations=here_n,
                    here_successes=here_ok,
                    origin=note.origin if note else "unknown",
                    engine=note.engine if note else None,
                    generation=note.generation if note else 0,
                    last_failure=c.last_failure.error if c.last_failure else None,
                ))
            nodes, edges, width, height = _graph(alleles, lineage)
            series: list[Series] = []
            for allele in [a.id for a in alleles if (locus, a.id) in timeline][: len(SERIES_COLOURS)]:
                points = list(timeline[(locus, allele)])
                live = at.get(allele)
                if live is not None:
                    points.append(Point(time=now, fitness=fitness(live, entry.weights)))
                series.append(Series(allele=allele, colour=SERIES_COLOURS[len(series)], points=points))
            rows.append(LocusReport(
                locus=locus, health=_health(at.get(entry.dominant or "")), alleles=alleles, nodes=nodes, edges=edges,
                width=width, height=height, series=series, chart=_chart(series, now) if series else {}, mermaid=_mermaid(alleles, lineage),
            ))
        changes = [ChangeRow(time=c.time, commit=c.commit, summary=c.summary, action=c.action) for c in history(genome, name, limit=30)]
        idle = [row.locus for row in rows if len(row.alleles) == 1 and not any(a.invocations or a.fitness is not None for a in row.alleles)]
        out.append(PhenotypeReport(name=name, topology=pmap.topology, loci=rows, idle=idle, history=changes))
    for r in pending_records(genome):
        if not r.ok:
            seen_failures[(r.allele, genome.host, r.time)] = FailureRow(
                time=r.time, locus=r.locus or "?", allele=r.allele, host=genome.host, error=r.error or "failed")
    for locus, at in counters.items():
        for a, c in at.items():
            f = c.last_failure
            if f is not None and not any(k[0] == a and k[2] == f.time for k in seen_failures):
                seen_failures[(a, f.host or "?", f.time)] = FailureRow(time=f.time, locus=locus or "?", allele=a, host=f.host, error=f.error)
    failures = sorted(seen_failures.values(), key=lambda f: -f.time)[:RECENT]
    mutations = sorted(
        (MutationRow(time=n.time, locus=n.locus, allele=a, origin=n.origin, engine=n.engine, parents=n.parents, error=n.failure.error if n.failure else None)
         for by_allele in lineages.values() for a, n in by_allele.items() if n.origin in ("mutation", "crossover", "fusion")),
        key=lambda m: -m.time,
    )[:RECENT]
    summary = _summary(genome, out, lineages, maps, mutations)
    return Report(generated=now, hosts=fitness_hosts(genome), summary=summary, phenotypes=out, fleet=fleet_rows(genome),
                  failures=failures, mutations=mutations)


def _health(c: Counters | None) -> str:
    """healthy: the dominant's newest outcome was a success; failing: a failure; idle: never run."""
    if c is None or not (c.total or c.convergence_total or c.resilience_total):
        return "idle"
    if c.last_failure is not None and c.last_failure.time >= c.last_time:
        return "failing"
    return "healthy"


def _summary(genome: Genome, phenotypes: list[PhenotypeReport], lineages: dict[str, dict[str, Lineage]], maps: dict, mutations: list[MutationRow]) -> Summary:
    from sggit.app.promotion import find_promotions

    summary = Summary(mutations=len(mutations))
    for p in phenotypes:
        for row in p.loci:
            summary.loci += 1
            if row.health == "healthy":
                summary.healthy += 1
            elif row.health == "failing":
                summary.failing.append(f"{p.name}/{row.locus}")
            else:
                summary.idle += 1
        summary.heals += sum(
            1 for c in history(genome, p.name, limit=HISTORY_COMMITS)
            if c.action == "promote"
            and (note := lineages.get(c.trailers.get("Sggit-Locus", ""), {}).get(c.trailers.get("Sggit-Allele", ""))) is not None
            and note.origin == "mutation"
        )
    for found in find_promotions(genome):
        name, locus, allele = str(found.get("phenotype")), str(found.get("locus")), str(found.get("allele"))
        pmap = maps.get(name)
        if pmap is None or pmap.locus(locus).dominant == allele:
            continue  # merged (or another phenotype than this report's)
        summary.pending.append(PendingReview(phenotype=name, locus=locus, allele=allele, branch=str(found["branch"])))
    return summary


def _ratio(ok: int, total: int) -> str:
    return f"{ok}/{total}" if total else "-"


def fleet_rows(genome: Genome) -> list[HostRow]:
    """Per host, what its fitness notes hold: how much it ran and how well, at each timescale."""
    rows = []
    for host in fitness_hosts(genome):
        total = Counters()
        alleles = 0
        for at in host_counters(genome, host).values():
            for c in at.values():
                total = total + c
                alleles += 1
        rows.append(HostRow(host=host, alleles=alleles, invocations=total.total, successes=total.successes,
                            convergence=_ratio(total.convergence_ok, total.convergence_total),
                            resilience=_ratio(total.resilience_ok, total.resilience_total), last_time=total.last_time))
    return rows


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("sggit.report", "templates"), autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = lambda t: time.strftime("%Y-%m-%d %H:%M", time.gmtime(t)) if t else ""
    env.filters["pct"] = lambda v: "" if v is None else f"{v:.2f}"
    env.filters["md"] = lambda s: "" if s is None else str(s).replace("|", "\\|").replace("\n", " ")
    env.filters["failure"] = lambda s: "" if not s else failure_detail(str(s))
    env.globals["colours"] = STATE_COLOURS
    env.globals["lineage_background"] = LINEAGE_BACKGROUND
    return env


def render_html(report: Report) -> str:
    return _environment().get_template("report.html.j2").render(r=report)


def render_markdown(report: Report) -> str:
    env = _environment()
    env.autoescape = False
    return env.get_template("report.md.j2").render(r=report)


def write_report(genome: Genome, out: Path, fmt: str = "html", phenotypes: list[str] | None = None) -> Path:
    """Write index.html (or report.md) into `out`, atomically; returns the file written."""
    report = build_report(genome, phenotypes)
    out.mkdir(parents=True, exist_ok=True)
    target = out / ("index.html" if fmt == "html" else "report.md")
    atomic_write_text(target, render_html(report) if fmt == "html" else render_markdown(report))
    return target
