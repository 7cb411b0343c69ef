"""JSON in and out of the genome without surprises: bounded depth, no lone surrogates, nothing unwritable.

Input from a person (`--input`, a file) is refused with its JSON path when it is
nested absurdly deep or holds a lone surrogate, before any recursive code sees
it. Output to the journal and notes must never fail on a string, whoever wrote
it: a gene's exception text can hold any code point, so strings that UTF-8
cannot carry are written as JSON escapes, which read back as the same string.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from sggit.errors import UsageError
from sggit.jsonlimits import long_integer, nesting_depth, too_deep, too_long


def dump_model(model: BaseModel, *, indent: int | None = None) -> str:
    """`model_dump_json(exclude_none=True)`, falling back to ASCII escapes when a string is not UTF-8-safe."""
    try:
        return model.model_dump_json(exclude_none=True, indent=indent)
    except PydanticSerializationError:
        return json.dumps(model.model_dump(mode="json", exclude_none=True), ensure_ascii=True, indent=indent)


def _path(parts: list[str | int]) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else ("." + p if p.isidentifier() else f"[{json.dumps(p, ensure_ascii=True)}]")
    return out


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def loads_input(text: str, source: str = "--input") -> Any:
    """Parse input JSON; a located UsageError for bad JSON, nesting past MAX_DEPTH, or a lone surrogate."""
    deepest, passed = nesting_depth(text)
    if passed >= 0:
        line, col = _line_col(text, passed)
        raise UsageError(f"{source}:{line}:{col}: {too_deep(deepest)}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise UsageError(f"{source}: JSON nested too deep") from None
    except ValueError:  # json.loads refuses an integer longer than Python converts
        found = long_integer(text)
        if found is None:
            raise
        line, col = _line_col(text, found[0])
        raise UsageError(f"{source}:{line}:{col}: {too_long(found[1])}") from None
    check_value(value, source)
    return value


def check_value(value: Any, source: str = "input") -> None:
    """Refuse a lone surrogate anywhere in parsed data (keys too), naming its JSON path."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        current, parts = stack.pop()
        if isinstance(current, str):
            _check_text(current, source, parts)
        elif isinstance(current, dict):
            for key, item in current.items():
                if isinstance(key, str):
                    _check_text(key, source, [*parts, key])
                stack.append((item, [*parts, key]))
        elif isinstance(current, list):
            stack.extend((item, [*parts, i]) for i, item in enumerate(current))


def _check_text(text: str, source: str, parts: list[str | int]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise UsageError(
            f"{source}: {_path(parts)}: lone surrogate \\u{ord(bad):04x} at character {exc.start} of a string",
            hint="a JSON string must be valid Unicode; escape pairs like \\ud83d\\ude00 must come in pairs",
        ) from None
