"""What a gene's output must be to leave the sandbox: strict JSON text the orchestrator can hold.

This is not judging (the orchestrator's schema checks do that); it only refuses text
that would break whoever touches it next: NaN and Infinity (not JSON), nesting deep
enough to exhaust a recursive parser, and lone surrogates that no UTF-8 writer accepts.
"""

from __future__ import annotations

import re
from typing import Any

from sggit.runtime.sandbox.protocol import loads_strict

MAX_DEPTH = 100
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_SPACE = " \t\n\r"


def _depth(text: str) -> int:
    """Deepest nesting of arrays and objects, counted without recursion."""
    depth = deepest = 0
    for char in _STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def output_problem(text: str, max_chars: int) -> str | None:
    """Why `text` is not acceptable gene output, or None when it is."""
    if len(text) > max_chars:
        return f"output of {len(text)} characters exceeds {max_chars}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"output is not valid text: lone surrogate at character {exc.start}"
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        return f"output is nested deeper than {MAX_DEPTH} levels"
    try:
        value = loads_strict(text.strip(_JSON_SPACE))
    except (ValueError, RecursionError) as exc:
        return f"output is not JSON: {exc}"
    if "\\u" in text and _has_lone_surrogate(value):
        return "output is not valid text: it escapes a lone surrogate"
    return None


def safe_text(text: str) -> str:
    """`text` with lone surrogates escaped, so any UTF-8 writer (journal, terminal) accepts it."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
