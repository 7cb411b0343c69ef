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

from sggit.kernel.api import ArgumentError, Kernel
from sggit.kernel.inverses import Planner
from sggit.kernel.undo import UndoLog

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


class Surface:
    """The operations a gene may call on one kind of kernel: the abstract methods of its
    interface class, the `@mutating` ones among them, and their inverse planners.

    The network `Kernel` is the default; a domain whose kernels offer other operations
    names its interface class as `sdk_interface` on the kernel class.
    """

    def __init__(self, interface: type) -> None:
        self.interface = interface
        self.names: frozenset[str] = frozenset(interface.__abstractmethods__)  # type: ignore[attr-defined]
        self.planners: dict[str, Planner] = {
            name: getattr(interface, name).__sggit_inverse__ for name in self.names if hasattr(getattr(interface, name), "__sggit_inverse__")
        }
        self.mutating: frozenset[str] = frozenset(self.planners)
        self.signatures: dict[str, inspect.Signature] = {name: inspect.signature(getattr(interface, name)) for name in self.names}


NETWORK = Surface(Kernel)
_surfaces: dict[type, Surface] = {Kernel: NETWORK}


def surface_of(kernel: Any) -> Surface:
    """The gene_sdk surface of this kernel's kind (see `Surface`)."""
    interface = getattr(kernel, "sdk_interface", Kernel)
    found = _surfaces.get(interface)
    if found is None:
        found = _surfaces[interface] = Surface(interface)
    return found


@functools.cache
def _signature(name: str) -> inspect.Signature:
    return inspect.signature(getattr(Kernel, name))


@functools.cache
def _positional(interface: type, name: str) -> tuple[tuple[str, ...], int, dict[str, Any]] | None:
    """Parameter names, how many are required, and the defaults, when every parameter may come by position.

    Genes call the gene_sdk positionally almost always; binding such a call by hand
    gives what `Signature.bind` gives, at a fraction of its cost on every call.
    """
    params = list(inspect.signature(getattr(interface, name)).parameters.values())[1:]
    if any(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params):
        return None
    required = sum(1 for p in params if p.default is inspect.Parameter.empty)
    if any(p.default is inspect.Parameter.empty for p in params[required:]):
        return None
    return tuple(p.name for p in params), required, {p.name: p.default for p in params[required:]}


def _bind(name: str, kernel: Any, args: Any, kwargs: dict[str, Any], surface: Surface | None = None) -> dict[str, Any]:
    surface = surface or surface_of(kernel)
    fast = _positional(surface.interface, name)
    if fast is not None and not kwargs and fast[1] <= len(args) <= len(fast[0]):
        names, _, defaults = fast
        return {**defaults, **dict(zip(names, args, strict=False))}  # defaults fill the rest
    sig = surface.signatures[name]
    try:
        bound = sig.bind(kernel, *args, **kwargs)
    except TypeError as exc:
        params = ", ".join(p for p in sig.parameters if p != "self")
        raise ArgumentError(f"{name}({params}): {exc}") from None
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if k != "self"}


def perform(
    kernel: Kernel,
    name: str,
    args: Any = (),
    kwargs: Any = None,
    undo_log: UndoLog | None = None,
) -> Any:
    """Call `kernel.<name>(*args, **kwargs)` if it is part of the kernel's gene_sdk surface."""
    surface = surface_of(kernel)
    if not isinstance(name, str) or name not in surface.names:
        raise ArgumentError(f"{name!r} is not a gene_sdk operation")
    if args is None:
        args = ()
    if kwargs is None:
        kwargs = {}
    if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
        raise ArgumentError(f"{name}: arguments must be a list and keyword arguments an object")
    named = _bind(name, kernel, args, kwargs, surface)

    recording = undo_log is not None and name in surface.mutating
    if name == "sleep":  # a real sleep holding the lock would make checks that watch the host at once take turns
        return getattr(kernel, name)(**named)
    with kernel_lock(kernel):
        steps = surface.planners[name](kernel, **named) if recording else []
        result = getattr(kernel, name)(**named)
        if recording:
            assert undo_log is not None
            undo_log.record(name, list(args), dict(kwargs), steps)
    return result


def make_handler(kernel: Kernel, undo_log: UndoLog | None = None) -> Handler:
    """A `handler(name, args, kwargs)` bound to one kernel and one transaction."""
    return functools.partial(perform, kernel, undo_log=undo_log)
