"""gene_sdk as an in-process module: for tests, and for fused pathways later.

Calls go through the same dispatcher as calls over the sandbox pipe, and
arguments and results take the same JSON round trip, so a gene that passes here
cannot lean on anything the pipe would not carry (tuples, objects, NaN).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from sggit.kernel.api import INTERFACE, Kernel, KernelError
from sggit.kernel.dispatch import perform
from sggit.kernel.undo import UndoLog


def _wire(value: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise KernelError(f"{what} is not plain JSON: {exc}") from None


def bind_gene_sdk(kernel: Kernel, undo_log: UndoLog | None = None) -> ModuleType:
    """A module named gene_sdk whose functions are the Kernel interface, bound to `kernel`."""
    module = ModuleType("gene_sdk", "The kernel as a gene sees it.")
    module.KernelError = KernelError  # type: ignore[attr-defined]

    def bind(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            args, kwargs = _wire([list(args), kwargs], f"arguments of {name}")
            return _wire(perform(kernel, name, args, kwargs, undo_log), f"result of {name}")

        call.__name__ = call.__qualname__ = name
        return call

    for name in sorted(INTERFACE):
        setattr(module, name, bind(name))
    return module


@contextmanager
def installed_gene_sdk(kernel: Kernel, undo_log: UndoLog | None = None) -> Iterator[ModuleType]:
    """`import gene_sdk` resolves to `kernel` inside the block, and to what it was after."""
    previous = sys.modules.get("gene_sdk")
    module = bind_gene_sdk(kernel, undo_log)
    sys.modules["gene_sdk"] = module
    try:
        yield module
    finally:
        if previous is None:
            sys.modules.pop("gene_sdk", None)
        else:
            sys.modules["gene_sdk"] = previous


def load_gene(source: str, module: ModuleType, filename: str = "<allele>") -> Any:
    """Compile allele source with `gene_sdk` bound to `module`; return its execute()."""
    namespace: dict[str, Any] = {"__name__": "allele", "__file__": filename}
    previous = sys.modules.get("gene_sdk")
    sys.modules["gene_sdk"] = module
    try:
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - trusted seeds in-process
    finally:
        if previous is None:
            sys.modules.pop("gene_sdk", None)
        else:
            sys.modules["gene_sdk"] = previous
    execute = namespace.get("execute")
    if not callable(execute):
        raise KernelError(f"{filename}: defines no execute(input_json) function")
    return execute
