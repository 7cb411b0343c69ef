"""What this host supports, each item ok or missing and why (`sggit doctor`).

Checks come from provider modules, each exposing `CHECKS`: zero-argument callables
returning a check or a list of checks, where a check is anything with `name`,
`ok` and `detail` attributes (or a `(name, ok, detail)` tuple). A provider that
does not exist yet is skipped, so an area adds its checks by creating its module.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Callable, Iterable

from pydantic import BaseModel

PROVIDERS: tuple[str, ...] = (
    "sggit.runtime.sandbox.checks",
    "sggit.kernel.checks",
    "sggit.genome.checks",
    "sggit.engines.checks",
)


class Check(BaseModel):
    name: str
    ok: bool
    detail: str
    optional: bool = False


def _as_check(item: Any) -> Check:
    if isinstance(item, tuple) and not hasattr(item, "_fields") and len(item) == 3:
        name, ok, detail = item
    else:
        name, ok, detail = item.name, item.ok, item.detail
    return Check(name=str(name), ok=bool(ok), detail=str(detail), optional=bool(getattr(item, "optional", False)))


def _provider_checks(module_name: str) -> list[Callable[[], Any]]:
    try:
        if importlib.util.find_spec(module_name) is None:
            return []
    except ModuleNotFoundError:
        return []
    return list(getattr(importlib.import_module(module_name), "CHECKS", ()))


def run_checks(providers: Iterable[str] | None = None) -> list[Check]:
    """Every provider's checks; a check that raises is reported as failed, never as a traceback."""
    results: list[Check] = []
    for module_name in PROVIDERS if providers is None else providers:
        try:
            functions = _provider_checks(module_name)
        except Exception as exc:  # noqa: BLE001 - a broken provider is itself a finding
            results.append(Check(name=module_name, ok=False, detail=f"cannot load checks: {exc}"))
            continue
        for function in functions:
            try:
                produced = function()
                items = produced if isinstance(produced, list) else [produced]
                results.extend(_as_check(item) for item in items)
            except Exception as exc:  # noqa: BLE001
                name = getattr(function, "__name__", repr(function))
                results.append(Check(name=f"{module_name}.{name}", ok=False,
                                     detail=f"check failed: {type(exc).__name__}: {exc}"))
    return results
