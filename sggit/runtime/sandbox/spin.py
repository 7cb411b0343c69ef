"""Whether CPUs are free, and whether the orchestrator spins for a worker's answer before it sleeps on the pipe.

On a virtual machine a vCPU with nothing to run halts, and waking it costs more
than a small gene's whole call: measured on 2 vCPUs at load 0.5, sleeping on
the pipe made a warm call +130-190 µs over a direct one, spinning for up to
200 µs first made it +85-120 µs. Under contention spinning takes the CPU the
gene process or its relay needs, and a call gets no faster or slower (docs/performance.md).
So the pool spins only while the kernel reports little CPU pressure, and only
for a worker whose last answer came within a millisecond (the pool's
`_QUICK_SECONDS`): a slow allele costs one wasted window, not one per call.
Where the pool can hold a call on the caller's CPU (`placement`) it does that
instead, and does not spin: the worker it would wait for runs on the same CPU.
"""

from __future__ import annotations

import os
import time

PRESSURE_FILE = "/proc/pressure/cpu"
# Percent of the last 10 s in which some runnable task waited for a CPU.
QUIET_PRESSURE = 25.0
RECHECK_SECONDS = 0.5


def cpu_pressure(path: str = PRESSURE_FILE) -> float | None:
    """The `some avg10` of the kernel's CPU pressure (PSI), or None where the kernel has none."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline().split()
    except OSError:
        return None
    for field in first[1:]:
        name, _, value = field.partition(b"=")
        if name == b"avg10":
            try:
                return float(value)
            except ValueError:
                return None
    return None


def quiet(path: str = PRESSURE_FILE) -> bool:
    """Whether a CPU is likely free for the orchestrator to spin on.

    Without PSI, the load average against the CPU count stands in for it.
    """
    pressure = cpu_pressure(path)
    if pressure is not None:
        return pressure < QUIET_PRESSURE
    return os.getloadavg()[0] < (os.cpu_count() or 1) / 2


class QuietGate:
    """Whether CPUs are free now, as `quiet` says, read again at most every `recheck` seconds."""

    def __init__(self, path: str = PRESSURE_FILE, recheck: float = RECHECK_SECONDS) -> None:
        self.path = path
        self.recheck = recheck
        self._quiet = False
        self._checked = float("-inf")

    def is_quiet(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if now - self._checked >= self.recheck:
            self._quiet = quiet(self.path)
            self._checked = now
        return self._quiet


class SpinPolicy:
    """The pool's spin window for the next wait, at most `window` seconds, 0 when spinning would not pay.

    Its `gate` also tells the pool whether to hold a call on the caller's CPU (`placement`).
    """

    def __init__(self, window: float, path: str = PRESSURE_FILE, recheck: float = RECHECK_SECONDS) -> None:
        self.window = window
        self.gate = QuietGate(path, recheck)

    def current(self, now: float | None = None) -> float:
        if self.window <= 0:
            return 0.0
        return self.window if self.gate.is_quiet(now) else 0.0
