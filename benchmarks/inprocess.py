"""An in-process stand-in for the sandbox worker pool: what the orchestrator costs without the round trip.

It has the pool's `run(allele, source, input_json, handler=, timeout=)` and
returns the same `GeneOutcome`, but calls the allele's `execute` in this
process, compiled and executed once per allele (the confined worker gives every
call fresh module globals; that cost belongs to the sandbox, measured in
bench_sandbox.py). `gene_sdk` calls go straight to the call's handler.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

from sggit.kernel.api import KernelError
from sggit.runtime.sandbox.outcome import GeneOutcome


class _Sdk(types.ModuleType):
    handler: Callable[..., Any] | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        sdk = self

        def forward(*args: Any, **kwargs: Any) -> Any:
            assert sdk.handler is not None
            return sdk.handler(name, list(args), kwargs)

        return forward


class InProcessPool:
    def __init__(self) -> None:
        self.sdk = _Sdk("gene_sdk")
        self.sdk.KernelError = KernelError  # type: ignore[attr-defined]
        sys.modules["gene_sdk"] = self.sdk
        self._execute: dict[str, Callable[[str], Any]] = {}

    def run(self, allele_id: str, source: str, input_json: str, handler: Any = None, timeout: float | None = None) -> GeneOutcome:
        execute = self._execute.get(allele_id)
        if execute is None:
            namespace: dict[str, Any] = {}
            exec(compile(source, f"<allele {allele_id[:12]}>", "exec"), namespace)
            execute = self._execute[allele_id] = namespace["execute"]
        self.sdk.handler = handler
        try:
            output = execute(input_json)
        except Exception as exc:  # noqa: BLE001 - a gene's exception is its outcome
            return GeneOutcome(ok=False, error="exception", message=f"{type(exc).__name__}: {exc}")
        if not isinstance(output, str):
            return GeneOutcome(ok=False, error="bad_output", message="execute must return a string")
        return GeneOutcome(ok=True, output=output)
