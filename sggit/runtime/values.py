"""Evaluating contract values against what a run knows: inputs, loop variables, step outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sggit.contract import nodes as n
from sggit.errors import SggitError


class ResolveError(SggitError):
    """A {reference} that does not lead to a value at run time (an index past the end, a missing field)."""


def resolve_ref(ref: n.Ref, names: Mapping[str, Any], steps: Mapping[int, Any] | None = None) -> Any:
    if ref.step is not None:
        if steps is None or ref.step not in steps:
            raise ResolveError(f"{ref.render()}: step {ref.step} has no result yet")
        current: Any = steps[ref.step]
        path = ref.path
    else:
        root = ref.path[0]
        if not isinstance(root, str) or root not in names:
            raise ResolveError(f"{ref.render()}: nothing named {root} here")
        current = names[root]
        path = ref.path[1:]
    for index, part in enumerate(path):
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            position = int(part)
            if not isinstance(current, list):
                raise ResolveError(f"{ref.render()}: {_walked(ref, path, index)} is not a list")
            if position >= len(current):
                raise ResolveError(f"{ref.render()}: index {position} is out of range ({_walked(ref, path, index)} has {len(current)} items)")
            current = current[position]
        else:
            if not isinstance(current, dict) or part not in current:
                raise ResolveError(f"{ref.render()}: {_walked(ref, path, index)} has no field {part}")
            current = current[part]
    return current


def _walked(ref: n.Ref, path: Any, index: int) -> str:
    """How far a reference got before `path[index]`, for its error message (rendered only on error)."""
    start = ref.render()[1:-1].split(".")[0] if ref.step is None else f"step {ref.step}"
    return "".join([start, *(f".{part}" for part in path[:index])])


def evaluate(value: n.Value, names: Mapping[str, Any], steps: Mapping[int, Any] | None = None) -> Any:
    """A `{ref}` alone keeps its value's type; text around references makes a string."""
    if isinstance(value, n.Scalar):
        return value.value
    if isinstance(value, n.Word):
        return value.value
    if isinstance(value, n.ListValue):
        return [evaluate(item, names, steps) for item in value.items]
    single = value.single_ref
    if single is not None:
        return resolve_ref(single, names, steps)
    out: list[str] = []
    for part in value.parts:
        if isinstance(part, n.Ref):
            resolved = resolve_ref(part, names, steps)
            out.append(_text(resolved))
        else:
            out.append(part)
    return "".join(out)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def bind(params: list[n.Param] | list[n.Arg], names: Mapping[str, Any], steps: Mapping[int, Any] | None = None) -> dict[str, Any]:
    return {p.name: evaluate(p.value, names, steps) for p in params}
