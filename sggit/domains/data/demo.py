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
import io
import json
import shlex
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
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


def sggit(root: Path, *args: str, show: bool = True) -> Ran:
    """One CLI command as the user types it; its JSON is kept, the command line shown."""
    from sggit.cli.group import cli

    if show:
        print(f"\n$ sggit {' '.join(shlex.quote(a) for a in args)}", flush=True)
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            cli.main(args=["-C", str(root), *args], prog_name="sggit", standalone_mode=False)
        except SystemExit as exc:
            code = int(exc.code or 0)
    text = out.getvalue()
    try:
        result = json.loads(text) if text.strip().startswith("{") else {}
    except json.JSONDecodeError:
        result = {}
    if not result and text.strip():
        lines = text.rstrip().splitlines()
        print("\n".join(lines[:1] + ([f"  ... ({len(lines) - 1} more lines)"] if len(lines) > 1 else [])))
    return Ran(code, result)


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
    if sggit(root, "init", "--domain", "data").code != 0:
        raise SystemExit("demo: sggit init --domain data failed")
    inbox = root.parent / f"{root.name}-inbox"
    inbox.mkdir(exist_ok=True)
    db = root / "warehouse.db"
    story: dict[str, Any] = {}
    with serve(inbox) as base:
        (inbox / "readings.csv").write_bytes((ROOT / "data" / "readings.csv").read_bytes())
        first = sggit(root, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", load_input(base, "readings.csv", "staging_1"))
        print(f"loaded: {'ok' if first.code == 0 else 'FAILED'}; tables {_tables(db)}")
        story["first"] = first.code

        print("\na new file arrives; its temperature column is now called temp_c")
        (inbox / "readings_2.csv").write_bytes((ROOT / "data" / "readings_renamed.csv").read_bytes())
        before = _tables(db)
        second = sggit(root, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--explain",
                       "--engine", "fixture", "--fixture-dir", str(FIXTURES), "--input", load_input(base, "readings_2.csv", "staging_2"))
        story["second"] = second.code
        story["mutant"] = _mutant(root, "transform_records")
        print(f"tables before {before}, after {_tables(db)}")

        print("\ntwo more files of the new shape: the old allele fails first each time, the mutant carries the load")
        for n in (3, 4):
            (inbox / f"readings_{n}.csv").write_bytes((ROOT / "data" / "readings_renamed.csv").read_bytes())
            ran = sggit(root, "run", "ingest_clean_and_load", "--kernel", "data-sqlite", "--input", load_input(base, f"readings_{n}.csv", f"staging_{n}"))
            print(f"loaded: {'ok' if ran.code == 0 else 'FAILED'}")
    status = sggit(root, "status", "--phenotype", PHENOTYPE, "--format", "json", show=False).result
    story["dominant"] = _dominant(status, "transform_records")
    print(f"\ntransform_records is now expressed as {str(story['dominant'])[:12]} (the mutant: {str(story['mutant'])[:12]})")
    print(f"\n$ git log --oneline phenotype/{PHENOTYPE}", flush=True)
    subprocess.run(["git", "-C", str(root), "log", "--oneline", f"phenotype/{PHENOTYPE}"], check=True)
    story["tables"] = _tables(db)
    return story


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
