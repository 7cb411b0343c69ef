"""`sggit doctor` checks of the domains: each installed domain, and any that does not load."""

from __future__ import annotations

from typing import Any

from sggit.domains.listing import domain_rows


def installed_domains(rows: list[dict[str, Any]] | None = None) -> list[tuple[str, bool, str]]:
    return [
        (f"domain.{row['name']}", row["ok"], row["detail"] + (f" (kernels: {', '.join(row['kernel_kinds'])})" if row["kernel_kinds"] else ""))
        for row in (domain_rows() if rows is None else rows)
    ]


CHECKS = [installed_domains]
