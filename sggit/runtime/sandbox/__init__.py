"""Sandboxed gene execution: warm worker processes held in by the kernel's own mechanisms.

Exports are loaded lazily so that the worker, started as
`python -m sggit.runtime.sandbox.worker`, never imports pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "SandboxConfig": "config", "DEFAULT_ALLOWLIST": "config", "MECHANISMS": "config",
    "GeneOutcome": "outcome", "ErrorKind": "outcome", "Confinement": "outcome", "Mechanism": "outcome",
    "WorkerPool": "pool", "SandboxUnavailable": "pool", "OrchestratorError": "pool", "Handler": "pool",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from sggit.runtime.sandbox.config import DEFAULT_ALLOWLIST as DEFAULT_ALLOWLIST
    from sggit.runtime.sandbox.config import MECHANISMS as MECHANISMS
    from sggit.runtime.sandbox.config import SandboxConfig as SandboxConfig
    from sggit.runtime.sandbox.outcome import Confinement as Confinement
    from sggit.runtime.sandbox.outcome import ErrorKind as ErrorKind
    from sggit.runtime.sandbox.outcome import GeneOutcome as GeneOutcome
    from sggit.runtime.sandbox.outcome import Mechanism as Mechanism
    from sggit.runtime.sandbox.pool import Handler as Handler
    from sggit.runtime.sandbox.pool import OrchestratorError as OrchestratorError
    from sggit.runtime.sandbox.pool import SandboxUnavailable as SandboxUnavailable
    from sggit.runtime.sandbox.pool import WorkerPool as WorkerPool


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
