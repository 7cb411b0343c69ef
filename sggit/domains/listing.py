"""The installed domains as rows for `sggit doctor` and `sggit kernel features`.

A domain that is declared but does not load is a row marked missing with the
reason, never left out.
"""

from __future__ import annotations

from typing import Any

from sggit import domains


def domain_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, factory in domains.factories().items():
        try:
            d = factory()
        except domains.DomainError as exc:
            rows.append({"name": name, "ok": False, "detail": str(exc), "kernel_kinds": [], "resource_kinds": []})
            continue
        rows.append({
            "name": d.name, "ok": True, "detail": f"{d.origin}: {d.description}",
            "kernel_kinds": list(d.kernel_kinds), "resource_kinds": list(d.resource_kinds),
        })
    return rows
