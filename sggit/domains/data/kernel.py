"""The data domain's gene_sdk: tables in a SQL database, and URLs the phenotype allows.

Every write a gene makes is preceded by a SAVEPOINT, and its inverse is
`ROLLBACK TO SAVEPOINT` of that savepoint, so undoing a gene call is the
database's own rollback and complete (a rolled-back savepoint takes every later
change with it). The whole run is one transaction: `commit()` at the end keeps
what the runtime did not roll back, and a run that dies leaves the file as it was.

The SQL is what SQLite and PostgreSQL both accept (quoted identifiers, TEXT /
INTEGER / REAL, SAVEPOINT / ROLLBACK TO SAVEPOINT / RELEASE SAVEPOINT); the
catalog queries and the parameter marker are the only dialect-specific parts and
live in `Dialect`.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from sggit.domains.data import FIXTURE_HOST
from sggit.kernel.api import ArgumentError, KernelError, mutating
from sggit.kernel.inverses import UndoStep

COLUMN_TYPES = ("TEXT", "INTEGER", "REAL")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
MAX_FETCH_BYTES = 8 * 1024 * 1024


def ident(name: object, what: str = "name") -> str:
    """A table or column name as SQL: checked, then double-quoted (standard SQL)."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise ArgumentError(f"{what} must be a letter or _ followed by letters, digits or _ (at most 63), got {name!r}")
    return f'"{name}"'


def column_type(kind: object) -> str:
    """A column type as SQL, in any case the caller wrote it."""
    name = kind.upper() if isinstance(kind, str) else None
    if name is None or name not in COLUMN_TYPES:
        raise ArgumentError(f"column type must be one of {', '.join(COLUMN_TYPES)}, got {kind!r}")
    return name


def check_column_map(mapping: object) -> None:
    """A mapping of target columns to source columns: at least one, every name a column name."""
    if not isinstance(mapping, dict) or not mapping:
        raise ArgumentError("a column mapping must be an object with at least one target column")
    for target, source in mapping.items():
        ident(target, f"target column {target!r}: a column name")
        ident(source, f"source column of {target!r}: a column name")


def check_column_types(types: object) -> None:
    """Column names to column types."""
    if not isinstance(types, dict):
        raise ArgumentError("column types must be an object of column -> type")
    for column, kind in types.items():
        ident(column, f"column {column!r}: a column name")
        try:
            column_type(kind)
        except KernelError as exc:
            raise ArgumentError(f"column {column}: {exc}") from None


def check_column_values(values: object) -> None:
    """Column names to the value each takes: a string, a number or a boolean, what a cell can hold."""
    if not isinstance(values, dict):
        raise ArgumentError("column values must be an object of column -> value")
    for column, value in values.items():
        ident(column, f"column {column!r}: a column name")
        if value is None or isinstance(value, (dict, list)):
            raise ArgumentError(f"column {column}: a value must be a string, a number or a boolean, got {json.dumps(value)}")


def check_url(url: object) -> str:
    """An http or https URL with a host, as `fetch_url` takes it; whether the phenotype allows the host is the kernel's to say."""
    if not isinstance(url, str):
        raise ArgumentError(f"fetch_url: url must be a string, got {url!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError as exc:  # an unclosed IPv6 bracket, a bad port: the URL's fault, not sggit's
        raise ArgumentError(f"fetch_url: {url!r} is not a valid URL: {exc}") from None
    if any(ord(ch) < 0x21 or ch == "\x7f" for ch in url):
        raise ArgumentError(f"fetch_url: {url!r} is not a valid URL: it holds a space or control character")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ArgumentError(f"fetch_url: {url!r} is not an http or https URL")
    return url


def _savepoint(kernel: Any, *_: Any, **__: Any) -> list[UndoStep]:
    """The inverse of any write: roll back to a savepoint taken just before it."""
    return [UndoStep(op="rollback_to", args=[kernel.savepoint()])]


class DataKernel(ABC):
    """The operations a data gene may call. Results are plain JSON.

    column: {"name", "type", "notnull"}; fetch: {"url", "status", "content_type", "text"}.
    """

    kernel_kind: ClassVar[str] = ""
    sdk_interface: ClassVar[type]

    @abstractmethod
    def list_tables(self) -> list[str]: ...

    @abstractmethod
    def table_columns(self, table: str) -> list[dict]: ...

    @abstractmethod
    def count_rows(self, table: str) -> int: ...

    @abstractmethod
    def count_nulls(self, table: str, column: str) -> int: ...

    @abstractmethod
    def select_rows(self, table: str, columns: list[str] | None = None, limit: int | None = None) -> list[dict]: ...

    @mutating(_savepoint)
    @abstractmethod
    def create_table(self, table: str, columns: list[dict]) -> list[dict]: ...

    @mutating(_savepoint)
    @abstractmethod
    def drop_table(self, table: str) -> bool: ...

    @mutating(_savepoint)
    @abstractmethod
    def insert_rows(self, table: str, rows: list[dict]) -> int: ...

    @mutating(_savepoint)
    @abstractmethod
    def delete_rows(self, table: str) -> int: ...

    @abstractmethod
    def fetch_url(self, url: str) -> dict: ...

    @abstractmethod
    def now(self) -> float: ...

    @abstractmethod
    def sleep(self, seconds: float) -> float: ...


DataKernel.sdk_interface = DataKernel


class Dialect:
    """What differs between SQL databases: the parameter marker and the catalog."""

    param = "?"

    def tables(self, conn: Any) -> list[str]:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
        return [r[0] for r in rows]

    def columns(self, conn: Any, table: str) -> list[dict]:
        rows = conn.execute(f"PRAGMA table_info({ident(table, 'table')})").fetchall()
        return [{"name": r[1], "type": (r[2] or "").upper(), "notnull": bool(r[3])} for r in rows]


Fetcher = Callable[[str], dict]


class HostFetcher:
    """GET a URL whose host the phenotype allows (http and https only); anything else is refused.

    `refusal` says so without fetching, so a plan can refuse a source before any
    gene runs and is scored for a binding that was never the gene's to fix.
    """

    def __init__(self, allow_hosts: Sequence[str]) -> None:
        self.allowed = {h.lower() for h in allow_hosts}

    def refusal(self, url: object) -> str | None:
        try:
            check_url(url)
        except ArgumentError as exc:
            return str(exc)
        parts = urlsplit(str(url))
        if str(parts.hostname).lower() not in self.allowed:
            said = f"fetch_url: host {parts.hostname} is not allowed by the phenotype (allow_hosts: {', '.join(sorted(self.allowed)) or 'none'})"
            if str(parts.hostname).lower() == FIXTURE_HOST:
                said += f"; {FIXTURE_HOST} serves the shipped files on data-mock and in shadows only"
            return said
        return None

    def __call__(self, url: str) -> dict:
        refused = self.refusal(url)
        if refused:
            raise KernelError(refused)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
        try:
            with opener.open(url, timeout=10) as response:
                body = response.read(MAX_FETCH_BYTES + 1)
                status, ctype = response.status, response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            return {"url": url, "status": exc.code, "content_type": "", "text": ""}
        except (urllib.error.URLError, OSError) as exc:
            raise KernelError(f"fetch_url: {url}: {getattr(exc, 'reason', exc)}") from None
        if len(body) > MAX_FETCH_BYTES:
            raise KernelError(f"fetch_url: {url} is larger than {MAX_FETCH_BYTES} bytes")
        return {"url": url, "status": status, "content_type": ctype, "text": body.decode("utf-8", errors="replace")}


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


class FixtureFetcher(HostFetcher):
    """Fetch for mock kernels and shadows: URLs on FIXTURE_HOST are the files in `directory`, other allowed hosts for real."""

    def __init__(self, allow_hosts: Sequence[str], directory: Path) -> None:
        super().__init__(allow_hosts)
        self.directory = directory

    def refusal(self, url: object) -> str | None:
        if isinstance(url, str) and _hostname(url) == FIXTURE_HOST:
            return None
        return super().refusal(url)

    def __call__(self, url: str) -> dict:
        if not isinstance(url, str) or _hostname(url) != FIXTURE_HOST:
            return super().__call__(url)
        name = urlsplit(url).path.lstrip("/")
        path = self.directory / name
        if "/" in name or not path.is_file():
            return {"url": url, "status": 404, "content_type": "", "text": ""}
        return {"url": url, "status": 200, "content_type": "text/csv", "text": path.read_text(encoding="utf-8")}


def allowed_fetcher(allow_hosts: Sequence[str]) -> HostFetcher:
    """The real kernel's fetch: only the phenotype's `allow_hosts`, over the network."""
    return HostFetcher(allow_hosts)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead to a host the phenotype does not allow, so none is followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SqlKernel(DataKernel):
    """A DB-API connection in one open transaction; writes are savepointed (see the module doc)."""

    kernel_kind = "data-sqlite"

    def __init__(self, conn: Any, *, fetch: Fetcher | None = None, dialect: Dialect | None = None, label: str = "") -> None:
        self.conn = conn
        self.dialect = dialect or Dialect()
        self.label = label
        self._fetch = fetch or allowed_fetcher(())
        self._names = itertools.count(1)
        self._clock_offset = 0.0
        self.conn.execute("BEGIN")

    @classmethod
    def open_sqlite(cls, path: str, **kwargs: Any) -> SqlKernel:
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # a file that is not a database fails here, not in a gene
        except sqlite3.Error as exc:
            raise KernelError(f"cannot open SQLite database {path}: {exc}") from None
        return cls(conn, label=path, **kwargs)

    # -- transaction ---------------------------------------------------------------
    def savepoint(self) -> str:
        name = f"sggit_{next(self._names)}"
        self.conn.execute(f"SAVEPOINT {name}")
        return name

    def rollback_to(self, name: str) -> None:
        """Undo everything since savepoint `name` (the database's own rollback), then drop it."""
        if not re.fullmatch(r"sggit_\d+", name):
            raise KernelError(f"not a savepoint of this kernel: {name!r}")
        try:
            self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
        except sqlite3.Error as exc:
            raise KernelError(f"rollback to {name}: {exc}") from None

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def abort(self) -> None:
        self.conn.execute("ROLLBACK")

    def close(self, *, keep: bool = True) -> None:
        try:
            if self.conn.in_transaction:
                self.commit() if keep else self.abort()
        finally:
            self.conn.close()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise KernelError(str(exc)) from None

    def _atomic(self, work: Callable[[], Any]) -> Any:
        """A write is all or nothing even when it is several statements."""
        name = self.savepoint()
        try:
            result = work()
        except BaseException:
            self.rollback_to(name)
            raise
        self._run(f"RELEASE SAVEPOINT {name}")
        return result

    # -- reads ---------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        return self.dialect.tables(self.conn)

    def _require(self, table: str) -> None:
        ident(table, "table")
        if table not in self.list_tables():
            raise KernelError(f"no table {table}")

    def table_columns(self, table: str) -> list[dict]:
        self._require(table)
        return self.dialect.columns(self.conn, table)

    def count_rows(self, table: str) -> int:
        self._require(table)
        return int(self._run(f"SELECT COUNT(*) FROM {ident(table)}").fetchone()[0])

    def count_nulls(self, table: str, column: str) -> int:
        self._require(table)
        if column not in [c["name"] for c in self.table_columns(table)]:
            raise KernelError(f"table {table} has no column {column}")
        return int(self._run(f"SELECT COUNT(*) FROM {ident(table)} WHERE {ident(column, 'column')} IS NULL").fetchone()[0])

    def select_rows(self, table: str, columns: list[str] | None = None, limit: int | None = None) -> list[dict]:
        self._require(table)
        known = [c["name"] for c in self.table_columns(table)]
        wanted = known if columns is None else list(columns)
        missing = [c for c in wanted if c not in known]
        if missing:
            raise KernelError(f"table {table} has no column {missing[0]} (it has: {', '.join(known)})")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise KernelError(f"limit must be a non-negative integer, got {limit!r}")
        sql = f"SELECT {', '.join(ident(c, 'column') for c in wanted)} FROM {ident(table)}"
        if limit is not None:
            sql += f" LIMIT {limit}"
        return [dict(zip(wanted, row, strict=True)) for row in self._run(sql).fetchall()]

    # -- writes --------------------------------------------------------------------
    def create_table(self, table: str, columns: list[dict]) -> list[dict]:
        ident(table, "table")
        if table in self.list_tables():
            raise KernelError(f"table {table} already exists")
        if not isinstance(columns, list) or not columns:
            raise KernelError("create_table: columns must be a non-empty list of {name, type}")
        parts = []
        for column in columns:
            if not isinstance(column, dict) or set(column) - {"name", "type", "notnull"}:
                raise KernelError(f"create_table: a column is {{name, type, notnull?}}, got {column!r}")
            try:
                kind = column_type(column["type"]) if "type" in column else "TEXT"
            except KernelError as exc:
                raise KernelError(f"create_table: {exc}") from None
            parts.append(f"{ident(column.get('name'), 'column')} {kind}" + (" NOT NULL" if column.get("notnull") else ""))
        self._run(f"CREATE TABLE {ident(table)} ({', '.join(parts)})")
        return self.table_columns(table)

    def drop_table(self, table: str) -> bool:
        self._require(table)
        self._run(f"DROP TABLE {ident(table)}")
        return True

    def insert_rows(self, table: str, rows: list[dict]) -> int:
        self._require(table)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise KernelError("insert_rows: rows must be a list of objects")
        known = [c["name"] for c in self.table_columns(table)]
        for row in rows:
            extra = [k for k in row if k not in known]
            if extra:
                raise KernelError(f"insert_rows: table {table} has no column {extra[0]} (it has: {', '.join(known)})")
            bad = next((v for v in row.values() if not isinstance(v, (str, int, float, type(None))) or isinstance(v, bool)), None)
            if bad is not None:
                raise KernelError(f"insert_rows: values are strings, numbers or null, got {bad!r}")

        def work() -> int:
            for row in rows:
                names = list(row)
                if not names:
                    self._run(f"INSERT INTO {ident(table)} DEFAULT VALUES")
                    continue
                marks = ", ".join(self.dialect.param for _ in names)
                self._run(f"INSERT INTO {ident(table)} ({', '.join(ident(n) for n in names)}) VALUES ({marks})", [row[n] for n in names])
            return len(rows)

        return int(self._atomic(work))

    def delete_rows(self, table: str) -> int:
        self._require(table)
        return int(self._run(f"DELETE FROM {ident(table)}").rowcount)

    # -- outside world and time ----------------------------------------------------
    def fetch_url(self, url: str) -> dict:
        return self._fetch(url)

    def fetch_refusal(self, url: str) -> str | None:
        """Why `fetch_url(url)` would be refused, or None; not in the gene surface (no abstract method)."""
        refusal = getattr(self._fetch, "refusal", None)
        return refusal(url) if callable(refusal) else None

    def now(self) -> float:
        return time.time() + self._clock_offset

    def sleep(self, seconds: float) -> float:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 3600:
            raise KernelError(f"sleep: seconds must be from 0 to 3600, got {seconds!r}")
        time.sleep(seconds)
        return self.now()

    # -- copies --------------------------------------------------------------------
    def dump(self) -> list[str]:
        """Every table's schema and rows as SQL text, in a stable order (tests compare these)."""
        return list(self.conn.iterdump())

    def sample_copy(self, limit: int, *, fetch: Fetcher | None = None) -> MemoryDataKernel:
        """An in-memory database with the same tables and at most `limit` rows of each."""
        copy = MemoryDataKernel(fetch=fetch or self._fetch)
        for table in self.list_tables():
            columns = self.table_columns(table)
            copy.conn.execute(
                f"CREATE TABLE {ident(table)} ({', '.join(ident(c['name']) + ' ' + (c['type'] or 'TEXT') + (' NOT NULL' if c['notnull'] else '') for c in columns)})"
            )
            names = [c["name"] for c in columns]
            rows = self.select_rows(table, limit=limit)
            if rows:
                marks = ", ".join("?" for _ in names)
                copy.conn.executemany(f"INSERT INTO {ident(table)} VALUES ({marks})", [[r[n] for n in names] for r in rows])
        return copy


class MemoryDataKernel(SqlKernel):
    """An in-memory SQLite database on a virtual clock: the data domain's mock and shadow."""

    kernel_kind = "data-mock"

    def __init__(self, *, fetch: Fetcher | None = None) -> None:
        super().__init__(sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False), fetch=fetch, label=":memory:")
        self._virtual = 0.0
        self._clock_lock = threading.Lock()

    def now(self) -> float:
        return self._virtual

    def sleep(self, seconds: float) -> float:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 3600:
            raise KernelError(f"sleep: seconds must be from 0 to 3600, got {seconds!r}")
        return self.pass_time(seconds)

    def pass_time(self, seconds: float) -> float:
        """Move the virtual clock by any amount (`sleep`'s bound is the gene's); not part of gene_sdk."""
        with self._clock_lock:  # gene_sdk's sleep arrives without the kernel lock
            self._virtual += float(seconds)
            return self._virtual
