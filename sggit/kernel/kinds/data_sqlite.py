"""The data-sqlite kind: a real SQLite file named by the phenotype's `connection`.

A run is one transaction on the file, committed when the run ends; each gene's
writes are savepointed, so the runtime's rollback of a gene is the database's.
The connection string is the only switch between databases: `sqlite:///PATH`
(relative to the project) today; a PostgreSQL kind can take `postgresql://...`
with the same SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sggit.errors import UsageError
from sggit.kernel.kinds import KernelFactory, KernelKind, KernelTarget


def database_path(target: KernelTarget) -> Path:
    """The SQLite file the phenotype's `connection` names (relative paths from the project root)."""
    from sggit.domains.data import host

    connection = host(target.bindings).connection
    if connection is None:
        raise UsageError(f"phenotype {target.phenotype} names no database", hint='add connection = "sqlite:///warehouse.db" to its [bindings]')
    scheme, sep, rest = connection.partition("://")
    if not sep or scheme != "sqlite":
        raise UsageError(f"connection {connection!r}: the data-sqlite kernel opens sqlite:///PATH only", hint="a PostgreSQL kernel kind is not available yet")
    path = Path(rest.removeprefix("/"))
    if not path.is_absolute():
        path = target.state_dir.parent.parent / path
    return path


class DataSqliteKind(KernelKind):
    name = "data-sqlite"
    clock = "wall"
    domain = "data"
    summary = "a SQLite database file named by the phenotype's connection (one transaction per run)"

    @contextmanager
    def open(self, target: KernelTarget) -> Iterator[Any]:
        from sggit.domains.data import host
        from sggit.domains.data.kernel import SqlKernel, allowed_fetcher

        path = database_path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        kernel = SqlKernel.open_sqlite(str(path), fetch=allowed_fetcher(host(target.bindings).allow_hosts))
        keep = False
        try:
            yield kernel
            keep = True
        finally:
            kernel.close(keep=keep)

    def fresh(self, target: KernelTarget) -> KernelFactory:
        from sggit.kernel.kinds import get

        return get("data-mock").fresh(target)

    def shadow(self, live: Any, target: KernelTarget) -> KernelFactory:
        from sggit.domains.data import SAMPLE_ROWS, fixture_fetcher, host

        fetch = fixture_fetcher(host(target.bindings).allow_hosts)
        return lambda: live.sample_copy(SAMPLE_ROWS, fetch=fetch)

    def features(self, kernel: Any | None = None) -> dict[str, tuple[bool, str]]:
        import sqlite3

        return {"sqlite": (True, f"SQLite {sqlite3.sqlite_version}"), "savepoint": (True, "each write is savepointed")}
