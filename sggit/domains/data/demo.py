"""The data story of `make demo`: a CSV arrives with a renamed column, and the genome heals.

A warehouse genome is scaffolded from the data domain, a CSV is loaded into a
real SQLite file from a server on 127.0.0.1, then a file arrives whose
`temperature` column is called `temp_c`. The dominant `transform_records` fails,
the pathway's earlier steps are rolled back by the database, a prepared mutant
(standing in for an engine's answer) that maps the renamed column passes shadow
and canary, and after the old allele's repeated failures it is the dominant one.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import subprocess
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sggit.domains.data import ROOT

PHENOTYPE = "warehouse"
FIXTURES = ROOT / "fixtures" / "alleles"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` over HTTP on 127.0.0.1 (a free port) for the block; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Ran:
    code: int
    result: dict[str, Any]


Pick = Callable[[list[str]], list[str]]


def _first_line(lines: list[str]) -> list[str]:
    return lines[:1] + ([f"... ({len(lines) - 1} more lines)"] if len(lines) > 1 else [])


def sggit(root: Path, *args: str, show: Pick | None = _first_line, quiet: bool = False) -> Ran:
    """One CLI command as the user types it, the command line shown; its JSON is kept, and what `show` picks printed."""
    from sggit.cli.inprocess import command_line, run_captured

    if not quiet:
        print(f"\n{command_line(*args)}", flush=True)
    ran = run_captured(root, *args)
    text = ran.stdout
    try:
        result = json.loads(text) if text.strip().startswith("{") else {}
    except json.JSONDecodeError:
        result = {}
    if not result and show is not None and not quiet:
        for line in show(text.rstrip().splitlines()):
            print(f"  {line.strip()}")
    return Ran(ran.code, result)


def _registered(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("registered")]


def _attempts(locus: str) -> Pick:
    """The pathway's verdict, the alleles tried at `locus`, and what the organism did about it."""
    return lambda lines: [line for line in lines if line.startswith("pathway") or f"{locus} allele" in line or line.lstrip().startswith("*")]


def load_input(base: str, name: str, staging: str) -> str:
    return json.dumps({
        "url": f"{base}/{name}", "staging": staging, "target": "readings", "columns": ["station", "day"],
        "mapping": {"station": "station", "day": "day", "celsius": "temperature"}, "types": {"celsius": "REAL"},
    })


def _tables(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def data_story(root: Path) -> dict[str, Any]:
    """Run the story in a new genome at `root`; returns what happened, for tests."""
    root.mkdir(parents=True, exist_ok=True)
    if sggit(root, "init", "--domain", "data", show=_registered).code != 0:
        raise SystemExit("demo: sggit init --domain data failed")
    inbox = root.parent / f"{root.name}-inbox"
    inbox.mkdir(exist_ok=True)
    db = root / "warehouse.db"
    story: dict[str, Any] = {}
    with serve(inbox) as base:
        def load(n: int, sample: str, *extra: str) -> Ran:
            name = "readings.csv" if n == 1 else f"readings_{n}.csv"
            (inbox / name).write_bytes((ROOT / "data" / sample).read_bytes())
            (inbox / f"load-{n}.json").write_text(load_input(base, name, f"staging_{n}"))
            return sggit(root, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", *extra, "--input", f"@../{inbox.name}/load-{n}.json",
                         show=_attempts("transform_records"), quiet=n > 2)

        print(f"  (the CSV files are served from {base}; each load-N.json names its file and the column mapping)")
        first = load(1, "readings_clean.csv", "--format", "text")
        story["first"] = first.code
        print(f"  tables now {_tables(db)}")
        _say("A new file arrives; its temperature column is now called temp_c.")
        second = load(2, "readings_renamed.csv", "--format", "text", "--engine", "fixture", "--fixture-dir", str(FIXTURES))
        story["second"] = second.code
        story["mutant"] = _mutant(root, "transform_records")
        _say("The dominant transform_records failed on the renamed column and the database rolled its "
             "step back; the engine's mutant maps the renamed column and carried the load. Two more files of "
             "the new shape:")
        for n in (3, 4):
            print(f"  load {n}: {'ok' if load(n, 'readings_renamed.csv', '--format', 'text').code == 0 else 'FAILED'}")
    status = sggit(root, "status", "--phenotype", PHENOTYPE, "--format", "json", quiet=True).result
    story["dominant"] = _dominant(status, "transform_records")
    mutant = str(story["mutant"])[:7]
    dominant = str(story["dominant"])[:7]
    expressed = f"the mutant {mutant}" if dominant == mutant else f"{dominant} (the mutant is {mutant})"
    _say(f"After the old allele's repeated failures, transform_records is expressed as {expressed}; "
         f"git log phenotype/{PHENOTYPE}:")
    log = subprocess.run(["git", "-C", str(root), "log", "--oneline", f"phenotype/{PHENOTYPE}"], check=True, capture_output=True, text=True)
    for line in log.stdout.splitlines()[:4]:
        print(f"  {line}")
    story["tables"] = _tables(db)
    return story


def _say(text: str) -> None:
    print(textwrap.fill(text, width=88, initial_indent="> ", subsequent_indent="  ", break_on_hyphens=False), flush=True)


def _mutant(root: Path, locus: str) -> str | None:
    from sggit.genome.alleles import alleles_at
    from sggit.genome.lineage import read_lineage
    from sggit.genome.repo import Genome

    genome = Genome.open(root)
    for allele in alleles_at(genome, locus):
        lineage = read_lineage(genome, locus, allele)
        if lineage is not None and lineage.origin == "mutation":
            return allele
    return None


def _dominant(status: dict[str, Any], locus: str) -> str | None:
    for phenotype in status.get("phenotypes", [status]):
        for entry in phenotype.get("loci", []):
            if isinstance(entry, dict) and entry.get("locus") == locus:
                return entry.get("dominant") or entry.get("allele")
    return None
