"""The one door from a gene's request to a kernel method.

A request arrives as (name, args, kwargs) from an untrusted process. Only names of
the Kernel interface pass (never `__class__`, `_private`, or a mock-only helper),
arguments are bound against the interface's signature before anything runs, and a
mutating call that succeeds leaves its inverse in the undo log.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections.abc import Callable
from typing import Any

from sggit.kernel.api import INTERFACE, MUTATING, Kernel, KernelError
from sggit.kernel.undo import PLANNERS, UndoLog

Handler = Callable[[str, Any, Any], Any]


_locks: weakref.WeakKeyDictionary[Kernel, threading.RLock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def kernel_lock(kernel: Kernel) -> threading.RLock:
    """One lock per kernel: an inverse is planned from the state the call then changes,
    so no other call may slip in between (pathway steps can run in parallel)."""
    with _locks_guard:
        lock = _locks.get(kernel)
        if lock is None:
            lock = _locks[kernel] = threading.RLock()
        return lock


@functools.cache
def _signature(name: str) -> inspect.Signature:
    return inspect.signature(getattr(Kernel, name))


@functools.cache
def _positional(name: str) -> tuple[tuple[str, ...], int, dict[str, Any]] | None:
    """Parameter names, how many are required, and the defaults, when every parameter may come by position.

    Genes call the gene_sdk positionally almost always; binding such a call by hand
    gives what `Signature.bind` gives, at a fraction of its cost on every call.
    """
    params = list(_signature(name).parameters.values())[1:]
    if any(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params):
        return None
    required = sum(1 for p in params if p.default is inspect.Parameter.empty)
    if any(p.default is inspect.Parameter.empty for p in params[required:]):
        return None
    return tuple(p.name for p in params), required, {p.name: p.default for p in params[required:]}


def _bind(name: str, kernel: Kernel, args: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    fast = _positional(name)
    if fast is not None and not kwargs and fast[1] <= len(args) <= len(fast[0]):
        names, _, defaults = fast
        return {**defaults, **dict(zip(names, args, strict=False))}  # defaults fill the rest
    sig = _signature(name)
    try:
        bound = sig.bind(kernel, *args, **kwargs)
    except TypeError as exc:
        params = ", ".join(p for p in sig.parameters if p != "self")
        raise KernelError(f"{name}({params}): {exc}") from None
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if k != "self"}


def perform(
    kernel: Kernel,
    name: str,
    args: Any = (),
    kwargs: Any = None,
    undo_log: UndoLog | None = None,
) -> Any:
    """Call `kernel.<name>(*args, **kwargs)` if it is part of the gene_sdk surface."""
    if not isinstance(name, str) or name not in INTERFACE:
        raise KernelError(f"{name!r} is not a gene_sdk operation")
    if args is None:
        args = ()
    if kwargs is None:
        kwargs = {}
    if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
        raise KernelError(f"{name}: arguments must be a list and keyword arguments an object")
    named = _bind(name, kernel, args, kwargs)

    recording = undo_log is not None and name in MUTATING
    with kernel_lock(kernel):
        steps = PLANNERS[name](kernel, **named) if recording else []
        result = getattr(kernel, name)(**named)
        if recording:
            assert undo_log is not None
            undo_log.record(name, list(args), dict(kwargs), steps)
    return result


def make_handler(kernel: Kernel, undo_log: UndoLog | None = None) -> Handler:
    """A `handler(name, args, kwargs)` bound to one kernel and one transaction."""
    return functools.partial(perform, kernel, undo_log=undo_log)
