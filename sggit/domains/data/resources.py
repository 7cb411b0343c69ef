"""The data topology resource: a table loaded from a CSV file through a staging table.

A `table` resource becomes one run of `ingest_clean_and_load`; the database's
catalog says whether the table is there already with the columns it maps.
"""

from __future__ import annotations

from typing import Any

from sggit.domains import Action, PlannedRun, ResourceKind, ResourceView
from sggit.errors import UsageError


def plan_table(res: ResourceView) -> list[PlannedRun]:
    source = res.value("source")
    if not isinstance(source, str):
        raise UsageError(f"table {res.name} has no source", hint="give it `source URL`, the CSV file it is loaded from")
    columns = res.values("columns")
    if not columns or not all(isinstance(c, str) for c in columns):
        raise UsageError(f"table {res.name} needs `columns [...]`, the column names its file must have")
    mapping = res.value("mapping")
    if mapping is None:
        mapping = {column: column for column in columns}
    elif not isinstance(mapping, dict):
        raise UsageError(f"table {res.name}: mapping must be a JSON object (target column -> staging column), not {mapping!r}")
    inputs: dict[str, Any] = {"url": source, "staging": res.value("staging") or f"{res.interface}_staging",
                              "target": res.interface, "columns": columns, "mapping": mapping}
    defaults = res.value("defaults")
    if defaults is not None:
        inputs["defaults"] = defaults
    return [PlannedRun(key=res.name, inputs=inputs, interface=res.interface, claims=((str(inputs["staging"]), "staging table"),))]


def fetch_refused(kernel: Any, url: Any) -> str | None:
    """Why this host's kernel would refuse to fetch `url` (the phenotype's allow_hosts), or None.

    The one place plan, deploy and every run ask it (`httpurl` values); a kernel
    with no fetch policy, as of another domain, refuses nothing here.
    """
    refusal = getattr(kernel, "fetch_refusal", None)
    refused = refusal(url) if callable(refusal) and isinstance(url, str) else None
    return refused.removeprefix("fetch_url: ") if refused else None


def assess_table(kernel: Any, run: PlannedRun, memo: dict[str, Any]) -> tuple[Action, str]:
    """What the catalog says of the target; a source this kernel may not fetch is the phenotype's error, said before any gene runs."""
    if "tables" not in memo:
        memo["tables"] = set(kernel.list_tables())
    tables: set[str] = memo["tables"]
    target, staging, url = run.inputs["target"], run.inputs["staging"], run.inputs["url"]
    if target in tables:
        have = {column["name"] for column in kernel.table_columns(target)}
        missing = [column for column in run.inputs["mapping"] if column not in have]
        if missing:
            return "change", f"table {target} exists without column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        return "unchanged", f"table {target} with columns {', '.join(run.inputs['mapping'])}"
    refused = fetch_refused(kernel, url)
    if refused:
        kind = getattr(kernel, "kernel_kind", "this")
        raise UsageError(
            f"table {run.key}: its source cannot be fetched on the {kind} kernel: {refused}",
            hint="bind the topology's source to a URL on a host in allow_hosts, e.g. source = \"http://127.0.0.1:8000/readings.csv\" "
                 "under [bindings] in phenotypes/<phenotype>.toml, then run `sggit init` again: the phenotype map lives on its branch",
        )
    through = f"{staging} (replacing the one there)" if staging in tables else staging
    return "create", f"table {target} from {url} through {through}"


RESOURCE_KINDS: dict[str, ResourceKind] = {
    "table": ResourceKind(
        "table", {"source": False, "staging": False, "columns": False, "mapping": False, "defaults": False, "name": False},
        pathway="ingest_clean_and_load", plan=plan_table, assess=assess_table,
        name_key=str.lower,  # SQLite's table names are one whatever their (ASCII) case, and sqlident is ASCII
    ),
}
