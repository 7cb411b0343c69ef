"""Where the shipped network genome (contracts, seeds, phenotypes) lives.

In a wheel it is package data under `sggit/_shipped`; in an editable checkout it is
the repository root, which is the same content without a copy.
"""

from __future__ import annotations

from pathlib import Path


def shipped_root() -> Path:
    packaged = Path(__file__).with_name("_shipped")
    if (packaged / "contracts").is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent
