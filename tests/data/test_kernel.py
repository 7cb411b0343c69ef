"""The data kernel: writes undone by the database's own rollback, the gene_sdk surface, the URL allowlist."""

from __future__ import annotations

from pathlib import Path

import pytest

from sggit.domains.data.kernel import (
    KernelError,
    MemoryDataKernel,
    SqlKernel,
    allowed_fetcher,
)
from sggit.kernel.dispatch import make_handler, perform
from sggit.kernel.undo import UndoLog
from tests.data.conftest import dump


@pytest.fixture
def kernel(tmp_path: Path) -> SqlKernel:
    k = SqlKernel.open_sqlite(str(tmp_path / "w.db"))
    k.create_table("base", [{"name": "id", "type": "INTEGER"}, {"name": "name", "type": "TEXT"}])
    k.insert_rows("base", [{"id": 1, "name": "a"}])
    return k


def test_undo_of_a_gene_call_is_a_rollback_to_its_savepoint(kernel: SqlKernel) -> None:
    before = kernel.dump()
    undo = UndoLog()
    handler = make_handler(kernel, undo)
    handler("insert_rows", ["base", [{"id": 2, "name": "b"}]], {})
    handler("create_table", ["more", [{"name": "x", "type": "REAL"}]], {})
    handler("delete_rows", ["base"], {})
    assert [e.op for e in undo.entries] == ["insert_rows", "create_table", "delete_rows"]
    assert all(e.steps[0].op == "rollback_to" for e in undo.entries)
    assert kernel.count_rows("base") == 0 and "more" in kernel.list_tables()
    assert undo.rollback(kernel) == []
    assert kernel.dump() == before


def test_a_rollback_to_an_earlier_call_keeps_what_came_before(kernel: SqlKernel) -> None:
    first, second = UndoLog(), UndoLog()
    perform(kernel, "insert_rows", ["base", [{"id": 2, "name": "b"}]], undo_log=first)
    perform(kernel, "insert_rows", ["base", [{"id": 3, "name": "c"}]], undo_log=second)
    assert second.rollback(kernel) == []
    assert [r["id"] for r in kernel.select_rows("base")] == [1, 2]


def test_the_run_commits_what_was_not_rolled_back_and_a_dead_run_leaves_the_file(tmp_path: Path, kernel: SqlKernel) -> None:
    kernel.close(keep=True)
    again = SqlKernel.open_sqlite(str(tmp_path / "w.db"))
    again.insert_rows("base", [{"id": 9, "name": "z"}])
    again.close(keep=False)
    assert dump(tmp_path / "w.db") == [
        "BEGIN TRANSACTION;", 'CREATE TABLE "base" ("id" INTEGER, "name" TEXT);', "INSERT INTO \"base\" VALUES(1,'a');", "COMMIT;",
    ]


def test_a_write_that_fails_half_way_changes_nothing(kernel: SqlKernel) -> None:
    kernel.create_table("strict", [{"name": "v", "type": "TEXT", "notnull": True}])
    with pytest.raises(KernelError, match="NOT NULL"):
        kernel.insert_rows("strict", [{"v": "ok"}, {"v": None}])
    assert kernel.count_rows("strict") == 0


def test_genes_reach_only_the_data_surface(kernel: SqlKernel) -> None:
    for name in ("rollback_to", "commit", "savepoint", "dump", "create_bridge", "__class__"):
        with pytest.raises(KernelError, match="is not a gene_sdk operation"):
            perform(kernel, name, [])
    with pytest.raises(KernelError, match="table must be a letter"):
        perform(kernel, "count_rows", ['base"; DROP TABLE base; --'])
    assert kernel.list_tables() == ["base"]


def test_the_sample_copy_has_the_schema_and_at_most_the_bound(kernel: SqlKernel) -> None:
    kernel.insert_rows("base", [{"id": i, "name": str(i)} for i in range(2, 50)])
    copy = kernel.sample_copy(10)
    assert isinstance(copy, MemoryDataKernel)
    assert copy.table_columns("base") == kernel.table_columns("base")
    assert copy.count_rows("base") == 10
    copy.delete_rows("base")
    assert kernel.count_rows("base") == 49


def test_fetch_refuses_hosts_schemes_and_redirects(csv_server: str) -> None:
    fetch = allowed_fetcher(["127.0.0.1"])
    got = fetch(f"{csv_server}/readings.csv")
    assert got["status"] == 200 and got["text"].startswith("station,day,temperature\n")
    assert fetch(f"{csv_server}/missing.csv")["status"] == 404
    with pytest.raises(KernelError, match="host localhost is not allowed"):
        fetch(csv_server.replace("127.0.0.1", "localhost") + "/readings.csv")
    with pytest.raises(KernelError, match="not an http or https URL"):
        fetch("file:///etc/passwd")
    # a directory without its slash answers with a redirect, which could lead anywhere: not followed
    assert fetch(f"{csv_server}/sub")["status"] == 301


def test_the_kernel_sql_is_plain_sql(kernel: SqlKernel) -> None:
    """Statements the kernel issues use quoted identifiers and standard types only (what PostgreSQL also reads)."""
    seen: list[str] = []
    kernel.conn.set_trace_callback(seen.append)
    kernel.create_table("t", [{"name": "a", "type": "real"}])
    kernel.insert_rows("t", [{"a": 1.5}])
    kernel.select_rows("t", limit=1)
    kernel.delete_rows("t")
    statements = [s for s in seen if not s.startswith(("SAVEPOINT", "RELEASE", "SELECT name FROM sqlite_master", "PRAGMA"))]
    assert statements == ['CREATE TABLE "t" ("a" REAL)', 'INSERT INTO "t" ("a") VALUES (1.5)', 'SELECT "a" FROM "t" LIMIT 1', 'DELETE FROM "t"']


def test_the_connection_names_a_sqlite_file_and_nothing_else(tmp_path: Path) -> None:
    from sggit.errors import UsageError
    from sggit.kernel.kinds import KernelTarget
    from sggit.kernel.kinds.data_sqlite import database_path

    state = tmp_path / "project" / ".git" / "sggit"

    def target(**bindings: object) -> KernelTarget:
        return KernelTarget(phenotype="w", state_dir=state, bindings=bindings, domain="data")

    assert database_path(target(connection="sqlite:///data/w.db")) == tmp_path / "project" / "data" / "w.db"
    assert database_path(target(connection="sqlite:////srv/w.db")) == Path("/srv/w.db")
    with pytest.raises(UsageError, match="opens sqlite:///PATH only") as refused:
        database_path(target(connection="postgresql://db.example/warehouse"))
    assert refused.value.hint == "a PostgreSQL kernel kind is not available yet"
    with pytest.raises(UsageError, match="phenotype w names no database"):
        database_path(target())
