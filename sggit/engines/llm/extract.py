"""Candidate sources out of a model's prose: every fenced ```python block is one candidate."""

from __future__ import annotations

import re

_FENCE = re.compile(
    r"^[ \t]*```[ \t]*(?:python3?|py)[ \t]*\n(?P<body>.*?)^[ \t]*```[ \t]*$",
    re.DOTALL | re.MULTILINE | re.IGNORECASE,
)
_OPEN = re.compile(r"^[ \t]*```[ \t]*(?:python3?|py)[ \t]*$", re.MULTILINE | re.IGNORECASE)


def python_blocks(text: str) -> list[str]:
    """The closed ```python blocks, in order; blank ones are dropped."""
    blocks = [m.group("body") for m in _FENCE.finditer(text)]
    return [b if b.endswith("\n") else b + "\n" for b in blocks if b.strip()]


def has_unclosed_block(text: str) -> bool:
    """True when a ```python fence opens but never closes (the answer was cut off)."""
    return len(_OPEN.findall(text)) > len(_FENCE.findall(text))
