"""The genome report: its data from git, its markdown, and the HTML as a real browser draws it."""

from __future__ import annotations

import re
import shutil
import subprocess
from itertools import pairwise
from pathlib import Path

import pytest

from sggit.genome import phenostore
from sggit.genome.alleles import alleles_at, register_allele
from sggit.genome.fitness import Record
from sggit.genome.lineage import Failure, Lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import record, sync
from sggit.report.html import (
    LINEAGE_BACKGROUND,
    SERIES_COLOURS,
    STATE_COLOURS,
    build_report,
    render_html,
    render_markdown,
    write_report,
)
from tests.helpers import sggit
from tests.workflow.helpers import PHENOTYPE
from tests.workflow.png import bands, pixels_like, read_png

MUTANT = '''import json


def execute(input_json):
    return json.dumps({"success": True, "resources_created": []})
'''
LOCUS = "bridge_create"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def evolved(genome_project: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Genome, str, str]:
    """bridge_create with a seed that failed and a mutant of it that then succeeded, over two syncs."""
    monkeypatch.setenv("SGGIT_HOST", "alpha")
    genome = Genome.open(genome_project)
    seed = alleles_at(genome, LOCUS)[0]
    for ok in (True, True, False):
        record(genome, Record(allele=seed, locus=LOCUS, ok=ok, error=None if ok else "bridge already exists: br0", input={"bridge_name": "br0"}, time=1_700_000_000.0 + ok))
    sync(genome)
    mutant = register_allele(genome, LOCUS, MUTANT, Lineage(locus=LOCUS, origin="mutation", parents=[seed], engine="fixture", generation=1,
                                                            failure=Failure(input={"bridge_name": "br0"}, error="bridge already exists: br0"))).id
    phenostore.register_in_phenotype(genome, PHENOTYPE, LOCUS, mutant, "recessive")
    for _ in range(12):
        record(genome, Record(allele=mutant, locus=LOCUS, ok=True, time=1_700_000_100.0))
    sync(genome)
    return genome, seed, mutant


def test_report_data_follows_the_genome(evolved: tuple[Genome, str, str]) -> None:
    genome, seed, mutant = evolved
    report = build_report(genome, [PHENOTYPE])
    locus = next(entry for entry in report.phenotypes[0].loci if entry.locus == LOCUS)
    rows = {a.id: a for a in locus.alleles}
    assert rows[seed].state == "dominant" and rows[mutant].state == "recessive"
    assert (rows[seed].successes, rows[seed].invocations) == (2, 3)
    assert rows[mutant].fitness == pytest.approx(1.0)
    assert rows[mutant].origin == "mutation" and rows[mutant].generation == 1
    # One edge, drawn from the seed's column to the mutant's.
    by_id = {n.id: n for n in locus.nodes}
    assert len(locus.edges) == 1 and by_id[seed].x < by_id[mutant].x
    assert locus.edges[0].x1 > by_id[seed].x and locus.edges[0].x2 < by_id[mutant].x
    # The seed's fitness over time: one point per sync that changed it, then now.
    series = {s.allele: s for s in locus.series}
    assert [round(p.fitness, 3) for p in series[seed].points] == [0.2, 0.2]
    assert series[mutant].points[-1].fitness == pytest.approx(1.0)
    assert report.failures[0].allele == seed and report.failures[0].host == "alpha"
    assert [m.allele for m in report.mutations] == [mutant]
    assert report.phenotypes[0].history[0].action == "register"


def test_markdown_has_tables_and_a_lineage_graph(evolved: tuple[Genome, str, str]) -> None:
    genome, seed, mutant = evolved
    text = render_markdown(build_report(genome, [PHENOTYPE]))
    assert f"| {LOCUS} | `{seed[:12]}` | 0.20 | 2/3 |  | 2 | bridge already exists: br0 |" in text  # records naming no phenotype
    assert f"a{seed[:7]} --> a{mutant[:7]}" in text
    assert f"| {LOCUS} | `{mutant[:12]}` | mutation | fixture | bridge already exists: br0 |" in text


def test_html_needs_no_network(evolved: tuple[Genome, str, str]) -> None:
    html = render_html(build_report(evolved[0]))
    assert "<script" not in html and " src=" not in html and "<link" not in html
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}
    assert html.count('class="lineage"') == html.count('<section class="locus"') > 0


def test_cli_writes_html_and_prints_markdown(evolved: tuple[Genome, str, str]) -> None:
    genome, seed, _ = evolved
    root = genome.workdir
    assert root is not None
    done = sggit(root, "report", "--out", "rep", host="alpha")
    assert done.stdout.strip() == "rep/index.html"
    assert seed[:12] in (root / "rep/index.html").read_text()
    md = sggit(root, "report", "--format", "markdown", "--phenotype", PHENOTYPE, host="alpha").stdout
    assert md.startswith("## sggit genome report") and "supermicro" not in md
    assert sggit(root, "report", "--phenotype", "nope", code=None).returncode == 2


def _await_review(genome: Genome, mutant: str) -> str:
    """The mutant's promotion written to its branch and left for review, as a high-risk locus's would be."""
    from sggit.app.promotion import Promotion, write_promotion

    return write_promotion(genome, Promotion(phenotype=PHENOTYPE, locus=LOCUS, allele=mutant, reason="review", risk="high")).branch


def test_summary_counts_loci_and_lists_promotions_awaiting_review(evolved: tuple[Genome, str, str]) -> None:
    genome, seed, mutant = evolved
    branch = _await_review(genome, mutant)
    report = build_report(genome, [PHENOTYPE])
    sm = report.summary
    locus = next(entry for entry in report.phenotypes[0].loci if entry.locus == LOCUS)
    assert locus.health == "healthy", "the seed's newest outcome was a success"
    assert sm.loci == len(report.phenotypes[0].loci) and sm.healthy == 1 and sm.failing == [] and sm.idle == sm.loci - 1
    assert [(pr.branch, pr.allele) for pr in sm.pending] == [(branch, mutant)]
    assert sm.mutations == 1
    assert LOCUS not in report.phenotypes[0].idle and len(report.phenotypes[0].idle) == sm.loci - 1
    assert [h.host for h in report.fleet] == ["alpha"] and report.fleet[0].invocations == 15
    md = render_markdown(report)
    assert f"- awaiting review: `{branch}`" in md


def test_recent_failures_are_every_failure_seen_not_one_per_allele(evolved: tuple[Genome, str, str]) -> None:
    genome, seed, _ = evolved
    record(genome, Record(allele=seed, locus=LOCUS, ok=False, error="second failure", time=1_700_000_200.0))
    sync(genome)
    record(genome, Record(allele=seed, locus=LOCUS, ok=False, error="third, not synced", time=1_700_000_300.0))
    errors = [f.error for f in build_report(genome, [PHENOTYPE]).failures if f.allele == seed]
    assert errors == ["third, not synced", "second failure", "bridge already exists: br0"]


def test_chart_labels_do_not_overlap_and_time_has_ticks(evolved: tuple[Genome, str, str]) -> None:
    genome, seed, mutant = evolved
    locus = next(entry for entry in build_report(genome, [PHENOTYPE]).phenotypes[0].loci if entry.locus == LOCUS)
    ys = sorted(line["label_y"] for line in locus.chart["lines"])  # type: ignore[union-attr]
    assert len(ys) == 2 and all(b - a >= 12 for a, b in pairwise(ys))
    assert len(locus.chart["ticks"]) == 5  # type: ignore[arg-type]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)")
def test_browser_draws_the_lineage_graph_and_fitness_chart(evolved: tuple[Genome, str, str], tmp_path: Path) -> None:
    genome, _, mutant = evolved
    branch = _await_review(genome, mutant)
    page = write_report(genome, tmp_path / "site", "html", [PHENOTYPE])
    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars"]
    subprocess.run([CHROMIUM, *flags, "--window-size=1000,1200", f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    assert dom.count("<polyline") >= 2 and dom.count("<circle") >= 3
    summary = dom[dom.index('<section id="summary">'):dom.index("</section>", dom.index('<section id="summary">'))]
    assert "<b>1</b>healthy" in summary and "<b>1</b>awaiting review" in summary
    assert "Promotions awaiting review" in summary and f"<code>{branch}</code>" in summary
    assert dom.index('id="summary"') < dom.index('id="phenotype-')
    assert dom.count('<section class="locus"') == 1 and "idle loci (one allele, never run)" in dom
    assert dom.count('class="tick"') == 5

    _, _, rows = read_png(shot)
    assert pixels_like(rows, "#fff8e1") > 2000, "the awaiting-review box is not drawn"
    panels = bands(rows, LINEAGE_BACKGROUND, min_per_row=40)
    assert len(panels) >= 1, "no lineage graph visible"
    # The bridge_create graph: the seed (dominant), its mutant (recessive) and the arrow between them.
    drawn = [
        (pixels_like(rows, STATE_COLOURS["dominant"], box), pixels_like(rows, STATE_COLOURS["recessive"], box), pixels_like(rows, "#555555", box))
        for box in panels
    ]
    assert any(dom > 400 and rec > 400 and edge > 50 for dom, rec, edge in drawn), drawn
    assert all(dom > 400 for dom, _, _ in drawn), "a locus graph has no dominant node"
    # The seed's line spans the chart; the mutant's may be short (it exists only since the second
    # sync), but its two point markers are always drawn.
    assert pixels_like(rows, SERIES_COLOURS[0]) > 500, "the seed's fitness line is not drawn"
    assert pixels_like(rows, SERIES_COLOURS[1]) > 100, "the mutant's fitness line is not drawn"
