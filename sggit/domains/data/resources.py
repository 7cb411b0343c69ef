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
    return [PlannedRun(key=res.name, inputs=inputs, interface=res.interface)]


def assess_table(kernel: Any, run: PlannedRun, memo: dict[str, Any]) -> tuple[Action, str]:
    if "tables" not in memo:
        memo["tables"] = set(kernel.list_tables())
    tables: set[str] = memo["tables"]
    target, staging = run.inputs["target"], run.inputs["staging"]
    if target in tables:
        have = {column["name"] for column in kernel.table_columns(target)}
        missing = [column for column in run.inputs["mapping"] if column not in have]
        if missing:
            return "change", f"table {target} exists without column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        return "unchanged", f"table {target} with columns {', '.join(run.inputs['mapping'])}"
    if staging in tables:
        return "change", f"staging table {staging} exists; the pathway would create it"
    return "create", f"table {target} from {run.inputs['url']} through {staging}"


RESOURCE_KINDS: dict[str, ResourceKind] = {
    "table": ResourceKind(
        "table", {"source": False, "staging": False, "columns": False, "mapping": False, "defaults": False, "name": False},
        pathway="ingest_clean_and_load", plan=plan_table, assess=assess_table,
    ),
}
