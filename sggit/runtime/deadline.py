"""A `within` window is a deadline, not a sleep.

Sleeping a whole window at every level made a real-kernel pathway sit silent for
minutes when its checks would have passed after one second. Instead the checks
are polled with backoff and the wait ends as soon as they pass; only at the
deadline does an unhealthy result become the verdict. A diagnostic that monitors
for a duration still spends its own time inside each poll: that time is the
check's, not the window's.

Polls are tentative. A poll that does not decide anything (unhealthy, before the
deadline) leaves no record: only the deciding poll is committed, so waiting for
a bridge to settle never scores a producer as failing.

While a host is still in transition (a bridge port in STP listening or
learning), checks would judge a state that is about to change, so they are not
run until it settles or the deadline comes.

Time comes from a `Clock` (any kernel: the mock's clock is virtual), so the
logic is tested with an injected clock and never waits on the wall.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

Results = list[dict[str, Any]]
# One tentative poll: (healthy, results, commit); `commit()` makes its records count.
Poll = Callable[[], tuple[bool, Results, Callable[[], None]]]
Progress = Callable[[str], None]

TRANSIENT_PORT_STATES = frozenset({"listening", "learning"})


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> Any: ...


@dataclass(frozen=True)
class Backoff:
    """Delays between polls: `first`, growing by `factor`, never above `cap`."""

    first: float = 0.5
    factor: float = 2.0
    cap: float = 5.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.cap)


@dataclass
class Verdict:
    healthy: bool
    results: Results
    polls: int
    waited: float
    timed_out: bool


def converge(
    poll: Poll,
    window: float,
    clock: Clock,
    *,
    settled: Callable[[], bool] | None = None,
    progress: Progress | None = None,
    label: str = "verify",
    backoff: Backoff = Backoff(),
    stop: Callable[[], bool] | None = None,
) -> Verdict:
    """Poll until the checks pass or `window` seconds of `clock` have gone by.

    The poll that decides (the first healthy one, or the first to end at or past
    the deadline) is committed; every other poll is discarded. When `stop()`
    turns true, nobody needs the verdict any more: no further poll is made, and
    an unhealthy, undecided verdict is returned with nothing committed.
    """
    start = clock.now()
    deadline = start + max(window, 0.0)
    delays = backoff.delays()
    polls = 0
    while True:
        if stop is not None and stop():
            return Verdict(False, [], polls, clock.now() - start, timed_out=False)
        if clock.now() >= deadline or settled is None or settled():
            polls += 1
            healthy, results, commit = poll()
            now = clock.now()
            if healthy or now >= deadline:
                commit()
                return Verdict(healthy, results, polls, now - start, timed_out=not healthy)
            if stop is not None and stop():
                return Verdict(False, [], polls, now - start, timed_out=False)
        now = clock.now()
        step = min(next(delays), deadline - now)
        if step > 0:
            clock.sleep(step)
        if progress is not None:
            progress(f"{label}: {clock.now() - start:.0f} s of {window:g} s")


def host_settled(kernel: Any) -> bool:
    """False while any bridge port is still in STP listening or learning.

    Read through the gene_sdk surface only, so it holds for every kernel kind.
    """
    try:
        for link in kernel.list_links():
            if link.get("kind") == "bridge" and any(p.get("state") in TRANSIENT_PORT_STATES for p in kernel.list_ports(link["name"])):
                return False
    except Exception:  # noqa: BLE001 - a host we cannot read is judged by the checks themselves
        return True
    return True


def stderr_progress(enabled: bool | None = None) -> Progress | None:
    """A progress printer to stderr: on a terminal by default, elsewhere only when asked."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None

    def emit(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    return emit


def describe(checks: list[tuple[str, dict[str, Any]]], names: list[str]) -> str:
    """`verify check_fdb_stability on mgmt`: what a progress line says is being waited for."""
    loci = ", ".join(dict.fromkeys(locus for locus, _ in checks)) or "checks"
    return f"verify {loci}" + (f" on {', '.join(dict.fromkeys(names))}" if names else "")
