"""`sggit doctor` checks of the genome in the current repository: damaged notes, journal lines, state files, outboxes."""

from __future__ import annotations

from sggit.doctor import Check
from sggit.errors import SggitError


def damaged_records() -> list[Check]:
    """One failing check per damaged record (named by ref:object or file:line); none outside a repository."""
    from sggit.genome.damage import scan
    from sggit.genome.repo import Genome

    try:
        genome = Genome.open(".")
    except SggitError:
        return []
    found = scan(genome)
    if not found:
        return [Check(name="genome records", ok=True, detail="no damaged notes, journal lines, state files, phenotype heads or outboxes")]
    return [Check(name=f"damaged {d.kind}", ok=False, detail=f"{d.where}: {d.detail}" + (" (skipped when read)" if d.kind in _SKIPPED else "")) for d in found]


_SKIPPED = {"fitness note", "lineage note", "journal line", "state line", "state file", "outbox"}
"""Damage the commands read past with a warning; the rest stops them until it is repaired."""


CHECKS = [damaged_records]
