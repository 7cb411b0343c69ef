"""How commands print alleles and times; without click, so a plain status (`sggit.cli.full_status`) prints with them too."""

from __future__ import annotations

import time


def short(allele: str | None) -> str:
    from sggit.genome.views import SHORT

    return allele[:SHORT] if allele else "-"


def ago(t: float | None) -> str:
    if not t:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(t))
