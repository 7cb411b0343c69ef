"""Kernel kinds: one small module per kind behind one interface, and the table naming them.

A kind says how to open its kernel for a phenotype's host, how to copy a live
kernel for shadow replay, how to make a fresh copy of the host as it boots,
which clock it keeps, what it supports, and which topology resource kinds the
planner may use on it. The runtime asks `kind_of(kernel)` instead of testing
classes, so a new kind is one module plus one line in `KINDS` (or one
`register()` call from outside the package).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sggit.errors import UsageError

Clock = Literal["virtual", "wall"]
SLEEP_LIMIT = 3600.0
"""The longest one `sleep` call may be, on every kernel (gene_sdk's bound)."""
KernelFactory = Callable[[], Any]


@dataclass(frozen=True)
class KernelTarget:
    """What a kernel is opened for: one phenotype's host, and the command's options."""

    phenotype: str
    state_dir: Path
    bindings: Mapping[str, Any] = field(default_factory=dict)
    domain: str = "network"
    netns: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def host(self) -> Any:
        """The simulated host the bindings describe, in the target's domain."""
        from sggit import domains

        return domains.get(self.domain).host(self.bindings)


class KernelKind(ABC):
    """One kind of kernel. Subclasses set `name`, `clock` and `domain` and implement the rest."""

    name: str
    clock: Clock
    domain: str = "network"
    summary: str = ""

    @abstractmethod
    def open(self, target: KernelTarget) -> AbstractContextManager[Any]:
        """The kernel a run acts on, closed (and saved, if it keeps state) on the way out."""

    @abstractmethod
    def fresh(self, target: KernelTarget) -> KernelFactory:
        """Throwaway kernels of the phenotype's host as it boots (no bridges, bonds or VLANs yet)."""

    def shadow(self, live: Any, target: KernelTarget) -> KernelFactory:
        """Throwaway copies of the live kernel's CURRENT state; a real kernel cannot be copied,
        so by default the phenotype's simulated host stands in for it."""
        return self.fresh(target)

    def now(self, kernel: Any) -> float:
        if self.clock == "virtual":
            return float(kernel.now())
        import time

        return time.time()

    def gene_timeout(self) -> float:
        """Seconds one allele may run when the command is not told (`--timeout`).

        On a virtual clock a gene's sleeps cost nothing, so 5 s bounds its own work. On a
        wall clock its monitoring is real time (check_fdb_stability watches 10 s by
        default), so it gets the 30 s of the `within 30s` window its checks are polled in.
        """
        return 5.0 if self.clock == "virtual" else 30.0

    def lane(self, kernel: Any, start: float) -> AbstractContextManager[Any]:
        """Around work that runs alongside other work from `start`: real time needs nothing, a virtual clock
        must pass as the longest lane rather than the sum of them (`MockKernel.lane`)."""
        return nullcontext()

    def advance(self, kernel: Any, seconds: float) -> None:
        """Let time pass: a virtual clock moves, a real kernel sleeps.

        Time passes through the kernel's `sleep`, which moves a clock as a gene's sleep does but takes at
        most `SLEEP_LIMIT` a call (gene_sdk's bound); the whole steps before the rest are `skip`ped.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise UsageError(f"time cannot pass by {seconds!r} seconds", hint="give a finite duration such as 30s or 1h")
        whole, rest = divmod(max(float(seconds), 0.0), SLEEP_LIMIT)
        if whole:
            self.skip(kernel, int(whole))
        if rest:
            kernel.sleep(rest)

    def skip(self, kernel: Any, steps: int) -> None:
        """Let `steps` times `SLEEP_LIMIT` pass, one `sleep` a step: a real kernel takes that long anyway.
        A virtual clock moves at once instead (its kind overrides this): stepping it one hour a call made
        `verify --due` after a `within 8760000h` spin for ever."""
        for _ in range(steps):
            kernel.sleep(SLEEP_LIMIT)

    @abstractmethod
    def features(self, kernel: Any | None = None) -> dict[str, tuple[bool, str]]:
        """Each feature this kind offers (of `kernel`, where it differs per machine) and why not."""

    def resource_kinds(self) -> tuple[str, ...]:
        """Topology resource kinds the planner may use on this kernel: its domain's."""
        from sggit import domains

        return tuple(domains.get(self.domain).resource_kinds)


def _mock() -> KernelKind:
    from sggit.kernel.kinds.mock import MockKind

    return MockKind()


def _netlink() -> KernelKind:
    from sggit.kernel.kinds.netlink import NetlinkKind

    return NetlinkKind()


def _data_sqlite() -> KernelKind:
    from sggit.kernel.kinds.data_sqlite import DataSqliteKind

    return DataSqliteKind()


def _data_mock() -> KernelKind:
    from sggit.kernel.kinds.data_mock import DataMockKind

    return DataMockKind()


KINDS: dict[str, Callable[[], KernelKind]] = {
    "mock": _mock,
    "netlink": _netlink,
    "data-sqlite": _data_sqlite,
    "data-mock": _data_mock,
}
"""Kernel kinds by name. `--kernel` offers exactly these."""


def register(name: str, factory: Callable[[], KernelKind]) -> None:
    """Add a kind from outside this package (a domain plugin, a test)."""
    KINDS[name] = factory


def table() -> dict[str, Callable[[], KernelKind]]:
    """`KINDS` and the kinds installed domains bring (`Domain.kinds`); a name in `KINDS` wins."""
    from sggit import domains

    found = dict(KINDS)
    for d in domains.installed():
        for name, factory in d.kinds.items():
            found.setdefault(name, factory)
    return found


def names() -> list[str]:
    return list(table())


def get(name: str) -> KernelKind:
    known = KINDS if name in KINDS else table()
    try:
        factory = known[name]
    except KeyError:
        raise UsageError(f"unknown kernel kind {name!r}", hint=f"one of: {', '.join(known)}") from None
    return factory()


def kind_of(kernel: Any) -> KernelKind:
    """The kind a kernel instance belongs to, by the name its class declares (`kernel_kind`)."""
    name = getattr(kernel, "kernel_kind", None)
    if not isinstance(name, str):
        raise TypeError(f"{type(kernel).__name__} declares no kernel_kind")
    return get(name)


