"""A data genome scaffolded with `sggit init --domain data`, and CSV files served on loopback."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from sggit.domains.data import ROOT
from sggit.domains.data.demo import serve
from tests.helpers import sg_in


def dump(path: Path) -> list[str]:
    """The database as SQL text; equal dumps are equal databases."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def csv_server(tmp_path: Path) -> Iterator[str]:
    """Base URL of an HTTP server on 127.0.0.1 serving the shipped CSV files and any written to it."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "sub").mkdir()
    for path in (ROOT / "data").glob("*.csv"):
        (served / path.name).write_bytes(path.read_bytes())
    with serve(served) as url:
        yield url


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    root = tmp_path / "genome"
    sg_in(tmp_path, "init", str(root), "--domain", "data")
    return root
