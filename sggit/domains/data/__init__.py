"""The data domain: genes that ingest, validate, clean and transform tables in a SQL database.

Its real kernel is a SQLite file (`data-sqlite`), its mock and shadow an in-memory
copy with a bounded sample of rows (`data-mock`). A phenotype names the database
(`connection = "sqlite:///warehouse.db"`, relative to the project) and the hosts the
kernel may fetch from (`allow_hosts`); genes reach neither the file nor the network
themselves.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sggit.contract.value_types import ValueType
from sggit.domains import Domain, kernel_rule
from sggit.domains.data.resources import RESOURCE_KINDS, fetch_refused

ROOT = Path(__file__).resolve().parent
FIXTURE_HOST = "fixtures.invalid"
"""URLs on this host are the domain's shipped files (`data/`), served by the kernel without a network."""
FIXTURE_TABLE = "readings_raw"
SAMPLE_ROWS = 1000

SDK_SURFACE = """\
tables: list_tables(), table_columns(table) -> [{name, type, notnull}], count_rows(table), count_nulls(table, column)
rows: select_rows(table, columns=None, limit=None) -> [{column: value}]
writes (each undone by the database's own rollback): create_table(table, columns=[{name, type: TEXT|INTEGER|REAL}]), drop_table(table), insert_rows(table, rows), delete_rows(table)
outside: fetch_url(url) -> {url, status, content_type, text} (only hosts the phenotype allows; genes have no network)
time: now(), sleep(seconds)
"""


@dataclass(frozen=True)
class DataHost:
    """What a phenotype's bindings say about its database: where it is and what may be fetched."""

    connection: str | None
    allow_hosts: tuple[str, ...]


def host(bindings: Mapping[str, Any]) -> DataHost:
    connection = bindings.get("connection")
    hosts = bindings.get("allow_hosts", [])
    return DataHost(
        connection=connection if isinstance(connection, str) else None,
        allow_hosts=tuple(h for h in (hosts if isinstance(hosts, list) else [hosts]) if isinstance(h, str)),
    )


def snapshot(kernel: Any) -> list[str]:
    """Schema and rows of every table: what two interchangeable data genes leave alike."""
    return sorted(kernel.dump())


def fixture_fetcher(allow_hosts: tuple[str, ...]) -> Any:
    """Fetch for mock kernels: the shipped files on FIXTURE_HOST, other allowed hosts for real."""
    from sggit.domains.data.kernel import FixtureFetcher

    return FixtureFetcher(allow_hosts, ROOT / "data")


def seed_fixture(kernel: Any) -> None:
    """The shipped readings.csv as table readings_raw (all TEXT, empty cells NULL): what examples see."""
    text = (ROOT / "data" / "readings.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    kernel.create_table(FIXTURE_TABLE, [{"name": name, "type": "TEXT"} for name in rows[0]])
    kernel.insert_rows(FIXTURE_TABLE, [{k: v if v != "" else None for k, v in row.items()} for row in rows])


def _identifier(value: Any) -> str:
    from sggit.domains.data.kernel import ident

    return ident(value, "a table or column name")


SQLIDENT = ValueType(name="sqlident", base="string", problem=kernel_rule(_identifier),
                     description="a table or column name: a letter or _ followed by letters, digits or _, at most 63")


HTTPURL = ValueType(name="httpurl", base="string", problem=kernel_rule("sggit.domains.data.kernel:check_url"),
                    description="an http or https URL with a host (which host the kernel may fetch from, the phenotype says)",
                    refused=fetch_refused)
COLUMNMAP = ValueType(name="columnmap", base="json", problem=kernel_rule("sggit.domains.data.kernel:check_column_map"),
                      description="an object of target column -> source column, at least one, each a table or column name")
COLUMNTYPES = ValueType(name="columntypes", base="json", problem=kernel_rule("sggit.domains.data.kernel:check_column_types"),
                        description="an object of column name -> TEXT, INTEGER or REAL")
COLUMNVALUES = ValueType(name="columnvalues", base="json", problem=kernel_rule("sggit.domains.data.kernel:check_column_values"),
                         description="an object of column name -> a string, number or boolean")


def domain() -> Domain:
    return Domain(
        name="data",
        description="tables in a SQL database: ingest CSV, validate, clean, transform",
        root=ROOT,
        kernel_kinds=("data-mock", "data-sqlite"),
        resource_kinds=RESOURCE_KINDS,
        sdk_surface=SDK_SURFACE,
        prompt_subject="data-pipeline genome",
        snapshot=snapshot,
        host=host,
        value_types=(SQLIDENT, HTTPURL, COLUMNMAP, COLUMNTYPES, COLUMNVALUES),
    )
