"""What this host supports, each item ok or missing and why (`sggit doctor`).

Checks come from the provider modules named in `PROVIDERS`, each exposing
`CHECKS`: zero-argument callables returning a check or a list of checks, where a
check is anything with `name`, `ok` and `detail` attributes (or a
`(name, ok, detail)` tuple). A provider that is named but cannot be found or
loaded is itself reported as missing, never skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel

PROVIDERS: dict[str, str] = {
    "sandbox": "sggit.runtime.sandbox.checks",
    "kernel": "sggit.kernel.checks",
    "domains": "sggit.domains.checks",
    "genome": "sggit.genome.checks",
}
"""Area -> module whose CHECKS doctor runs. An area adds its checks with one line here."""


class Check(BaseModel):
    name: str
    ok: bool
    detail: str
    optional: bool = False


def as_check(item: Any) -> Check:
    """A provider's item (an object with name, ok, detail, maybe optional; or a 3-tuple) as a Check."""
    if isinstance(item, tuple) and not hasattr(item, "_fields") and len(item) == 3:
        name, ok, detail = item
    else:
        name, ok, detail = item.name, item.ok, item.detail
    return Check(name=str(name), ok=bool(ok), detail=str(detail), optional=bool(getattr(item, "optional", False)))


def _provider_checks(module_name: str) -> list[Callable[[], Any]]:
    return list(getattr(importlib.import_module(module_name), "CHECKS", ()))


def run_checks(providers: Iterable[str] | Mapping[str, str] | None = None) -> list[Check]:
    """Every provider's checks; a check that raises, or a provider that is missing, is reported as failed."""
    chosen = PROVIDERS if providers is None else providers
    modules = list(chosen.values()) if isinstance(chosen, Mapping) else list(chosen)
    results: list[Check] = []
    for module_name in modules:
        try:
            functions = _provider_checks(module_name)
        except ModuleNotFoundError as exc:
            results.append(Check(name=module_name, ok=False, detail=f"provider missing: {exc}"))
            continue
        except Exception as exc:  # noqa: BLE001 - a broken provider is itself a finding
            results.append(Check(name=module_name, ok=False, detail=f"cannot load checks: {exc}"))
            continue
        for function in functions:
            try:
                produced = function()
                items = produced if isinstance(produced, list) else [produced]
                results.extend(as_check(item) for item in items)
            except Exception as exc:  # noqa: BLE001
                name = getattr(function, "__name__", repr(function))
                results.append(Check(name=f"{module_name}.{name}", ok=False,
                                     detail=f"check failed: {type(exc).__name__}: {exc}"))
    return results
