"""One source registered at two loci is one blob; its records belong to the pair (locus, allele)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sggit.genome.repo import Genome
from sggit.genome.sync import host_streak
from tests.genome.helpers import git
from tests.helpers import sg_in

LINK, BOND = "check_link_state", "check_bond_state"
BOTH = '''import json


def execute(input_json):
    data = json.loads(input_json)
    if "device" in data:
        if data["device"] == "bad0":
            raise RuntimeError("cannot inspect bad0")
        return json.dumps({"healthy": True, "exists": True, "state": "up", "mtu": 1500, "mac": None})
    return json.dumps({"healthy": True, "mode": None, "active_member": None, "members_up": 0, "members_total": 0})
'''


@pytest.fixture
def shared(repo_dir: Path) -> tuple[Path, str]:
    """The shipped genome with one source registered, dominant in every phenotype, at two diagnostic loci."""
    sg_in(repo_dir, "init")
    (repo_dir / "both.py").write_text(BOTH)
    first = json.loads(sg_in(repo_dir, "register", LINK, str(repo_dir / "both.py"), "--as", "dominant", "--format", "json").output)
    second = json.loads(sg_in(repo_dir, "register", BOND, str(repo_dir / "both.py"), "--as", "dominant", "--format", "json").output)
    assert first["id"] == second["id"] and second["new"], "one blob, newly registered at the second locus"
    return repo_dir, first["id"]


def _run(repo: Path, device: str, phenotype: str = "dell_r740") -> None:
    sg_in(repo, "run", LINK, "--phenotype", phenotype, "--input", json.dumps({"device": device}))


def _shown(repo: Path, allele: str, *extra: str) -> dict[str, dict]:
    view = json.loads(sg_in(repo, "show", allele, *extra, "--format", "json").output)
    return {at["locus"]: at for at in view["loci"]}


def test_runs_at_one_locus_leave_the_other_locus_of_the_same_blob_untouched(shared: tuple[Path, str]) -> None:
    repo, allele = shared
    _run(repo, "eno1")
    _run(repo, "eno1")
    sg_in(repo, "sync")
    _run(repo, "eno1")
    _run(repo, "bad0")
    sg_in(repo, "sync")
    _run(repo, "bad0")  # not synced: every view includes the journal

    shown = _shown(repo, allele)
    assert sorted(shown) == [BOND, LINK]
    link, bond = shown[LINK], shown[BOND]
    assert (link["total"]["total"], link["total"]["successes"]) == (5, 3)
    assert link["fitness_by_host"]["testhost"]["streak"] == 2
    assert [f["input"] for f in link["total"]["failures"]] == [{"device": "bad0"}]
    assert bond["fitness_by_host"] == {} and bond["total"]["total"] == 0 and bond["total"]["failures"] == []
    genome = Genome.open(repo)
    assert host_streak(genome, LINK, allele) == (1, None), "as of the last sync"
    assert host_streak(genome, BOND, allele) == (0, None)

    # Two failures in a row at the link locus: still dominant there (3 demote), untouched at the bond locus.
    states = {at: [e["state"] for e in shown[at]["expressed_in"] if e["phenotype"] == "dell_r740"] for at in shown}
    assert states == {LINK: ["dominant"], BOND: ["dominant"]}
    rows = {r["locus"]: r for r in json.loads(sg_in(repo, "status", "--phenotype", "dell_r740", "--format", "json").output)["phenotypes"][0]["loci"]}
    assert rows[LINK]["invocations"] == 5 and rows[LINK]["last_failure"] is not None
    assert rows[BOND]["invocations"] == 0 and rows[BOND]["last_failure"] is None

    # Each locus has its own lineage; show and why name both, and --locus narrows to one.
    assert link["lineage"]["locus"] == LINK and bond["lineage"]["locus"] == BOND
    nodes = json.loads(sg_in(repo, "lineage", BOND, "--format", "json").output)["nodes"]
    assert [(n["locus"], n["origin"]) for n in nodes if n["id"] == allele] == [(BOND, "manual")]
    both = json.loads(sg_in(repo, "lineage", allele, "--format", "json").output)["nodes"]
    assert sorted(n["locus"] for n in both if n["id"] == allele) == [BOND, LINK]
    text = sg_in(repo, "show", allele).output
    assert f"locus  {LINK}" in text and f"locus  {BOND}" in text
    assert list(_shown(repo, allele, "--locus", BOND)) == [BOND]
    assert "is not registered at locus bridge_create" in sg_in(repo, "show", allele, "--locus", "bridge_create", code=2).output
    why = sg_in(repo, "why", allele).output
    assert f"at locus {LINK}" in why and "3 successes in 5 invocations" in why and f"at locus {BOND}" in why


def test_a_note_written_before_records_were_per_locus_still_reads(shared: tuple[Path, str]) -> None:
    repo, allele = shared
    old = {"locus": LINK, "total": 7, "successes": 6, "streak": 1,
           "last_failure": {"time": 100.0, "error": "from an older sggit", "host": "peer"}}
    git(repo, "notes", "--ref", "sggit/fitness/peer", "add", "-m", json.dumps(old), allele)
    shown = _shown(repo, allele)
    assert shown[LINK]["fitness_by_host"]["peer"]["total"] == 7 and shown[BOND]["fitness_by_host"] == {}

    # This host's note on the blob, once it has records at two loci, keeps them apart in one note.
    _run(repo, "eno1")
    sg_in(repo, "run", BOND, "--phenotype", "dell_r740", "--input", json.dumps({"bond": "bond0"}))
    sg_in(repo, "sync")
    note = json.loads(git(repo, "notes", "--ref", "sggit/fitness/testhost", "show", allele).stdout)
    assert sorted(note["loci"]) == [BOND, LINK] and note["loci"][BOND]["total"] == 1
    shown = _shown(repo, allele)
    assert shown[LINK]["total"]["total"] == 8 and shown[BOND]["total"]["total"] == 1


def test_a_lineage_note_of_one_locus_gains_the_second_and_keeps_the_first(shared: tuple[Path, str]) -> None:
    repo, allele = shared
    note = json.loads(git(repo, "notes", "--ref", "sggit/lineage", "show", allele).stdout)
    assert sorted(note["loci"]) == [BOND, LINK] and note["loci"][LINK]["path"].endswith("both.py")
    before = git(repo, "rev-parse", "refs/notes/sggit/lineage").stdout
    sg_in(repo, "register", LINK, str(repo / "both.py"))
    assert git(repo, "rev-parse", "refs/notes/sggit/lineage").stdout == before, "registering again changes nothing"


def test_the_report_shows_fitness_per_phenotype(shared: tuple[Path, str]) -> None:
    repo, allele = shared
    for device in ("eno1", "eno1", "bad0"):
        _run(repo, device, "dell_r740")
    sg_in(repo, "sync")
    _run(repo, "eno1", "supermicro_x11")
    sg_in(repo, "report", "--out", str(repo / "site"))
    html = (repo / "site" / "index.html").read_text()

    def row(phenotype: str) -> list[str]:
        start = html.index(f'<section class="locus" id="{phenotype}-{LINK}">')
        section = html[start:html.index("</section>", start)]
        cells = re.search(rf"<tr><td><code>{allele[:12]}</code></td>(.*?)</tr>", section, re.S)
        assert cells is not None, section
        return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", cells.group(1), re.S)]

    # state, fitness (and invocations) under the section's phenotype, then over every phenotype
    assert row("dell_r740")[:3] == ["dominant", "0.20 (2/3)", "0.30 (3/4)"]
    assert row("supermicro_x11")[:3] == ["dominant", "0.10 (1/1)", "0.30 (3/4)"]
    assert "fitness under supermicro_x11: 0.100 (immediate 1/1 ok)" in sg_in(repo, "show", allele, "--locus", LINK).output
    md = sg_in(repo, "report", "--format", "markdown", "--phenotype", "supermicro_x11").output
    assert f"| {LINK} | `{allele[:12]}` | 0.30 | 3/4 | 0.10 (1/1) |" in md
