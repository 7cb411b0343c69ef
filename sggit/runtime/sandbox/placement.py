"""Where a call runs: on the caller's CPU, with the worker's two processes moved beside it.

A warm call is three processes taking turns, the pool, the gene process and the
relay, each asleep while another runs. Left to itself the scheduler often wakes
the next one on the other vCPU, and on a quiet virtual machine that vCPU has
halted: waking it costs more than a small gene's whole call. Measured on 2 idle
vCPUs (docs/performance.md), a warm call cost +67-89 µs over a direct call with
the pool spinning for its answer and +58-80 µs with all three on one CPU; with a
gene_sdk call, +147-161 against +98-109 µs. Under CPU pressure it is the other
way round (eight CPU hogs on the 2 vCPUs: +56 µs left to the scheduler, +72 µs
held), since a pinned process cannot move to the CPU that frees first. So while
the kernel reports CPUs free (`spin.QuietGate`), for a worker that answered
quickly last time, for the length of one call the pool holds the calling thread
on the CPU it is on and pins the worker's relay and gene process to that CPU;
every wake-up is then a switch on a CPU that is running. The
thread's own affinity is given back when the call ends. A worker stays where it
was put until a call comes from another CPU, or until a call that is not held
(another call in flight, a slow answer, CPU pressure) sets it free again, so two
concurrent calls never share a CPU they were pinned to.

Which way is faster is the machine's, not ours, to say: on another 2-vCPU
machine, idle, holding cost +327 µs a call against +218 µs left to the
scheduler. So `Choice` learns it from the pool's own calls and holds only while
holding has been the faster way.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections import deque
from collections.abc import Callable, Set

log = logging.getLogger("sggit.sandbox")


def _getcpu() -> Callable[[], int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).sched_getcpu
    except (AttributeError, OSError):  # a libc without it: calls run wherever the scheduler puts them
        return None
    function.restype = ctypes.c_int
    function.argtypes = []
    return function  # type: ignore[no-any-return]


_sched_getcpu = _getcpu()


def current_cpu() -> int | None:
    """The CPU the calling thread is running on, or None where the C library cannot say."""
    if _sched_getcpu is None:
        return None
    cpu = int(_sched_getcpu())
    return cpu if cpu >= 0 else None


class Placed:
    """What a worker's processes are pinned to: `home` is a CPU, or None while they may run anywhere.

    `alive` says whether the first pid, the parent of the rest, still runs: once it
    has gone, a child's pid may already be someone else's, and is not touched.
    """

    def __init__(self, pids: tuple[int, ...], alive: Callable[[], bool] = lambda: True) -> None:
        self.pids = pids
        self.alive = alive
        self.home: int | None = None
        self.movable = bool(pids)
        self.last: dict[bool, float] = {}  # this worker's latest round trip held (True) and left to the scheduler
        self.asked = 0  # its calls `Choice` was asked about


class Choice:
    """Whether holding a quick call pays on this machine, learnt from the calls themselves.

    A worker's calls go the way that has been faster, except for a burst of
    `BURST` of its calls the other way in every `PERIOD`, so a change (the
    machine got busy, or quiet) is noticed; until enough is known the bursts
    alternate. Bursts count each worker's own calls, so a pathway whose steps
    take turns on several workers still gives each worker runs of calls one way.
    A call that moved its worker (pinned it, or set it free) is not counted: it
    pays for the move, which says nothing of the way itself. A counted round trip
    is paired with the same worker's latest the other way, so both sides of a
    comparison ran the same allele, and the median of the last `KEPT`
    differences decides, which a preempted call cannot swing.
    """

    BURST = 4
    PERIOD = 256
    KEPT = 31
    FIRST = 6  # differences seen before the faster way is trusted

    def __init__(self) -> None:
        self.hold = True
        self._seen = 0
        self._differences: deque[float] = deque(maxlen=self.KEPT)

    def wants_hold(self, placed: Placed) -> bool:
        """Whether to hold the next eligible call on the worker `placed`."""
        n, placed.asked = placed.asked, placed.asked + 1
        if self._seen < self.FIRST:
            return (n // self.BURST) % 2 == 0
        return self.hold != (n % self.PERIOD < self.BURST)

    def observe(self, placed: Placed, held: bool, seconds: float, moved: bool) -> None:
        """A warm call's round trip on the worker `placed`, held or not; `moved` if the call re-pinned it."""
        if moved:
            return
        placed.last[held] = seconds
        other = placed.last.get(not held)
        if other is None:
            return
        self._differences.append(seconds - other if held else other - seconds)
        self._seen += 1
        if self._seen == self.FIRST or (self._seen > self.FIRST and self._seen % 4 == 0):
            ordered = sorted(self._differences)
            self.hold = ordered[len(ordered) // 2] <= 0.0


class Placement:
    """Holds one call at a time on one CPU; `enabled=False` leaves every call to the scheduler."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and _sched_getcpu is not None and hasattr(os, "sched_setaffinity")
        self._everywhere: Set[int] | None = None
        self.choice = Choice()

    def hold(self, placed: Placed) -> Set[int] | None:
        """Pin the calling thread and `placed` to the thread's CPU; the thread's own affinity, to give back."""
        if not self.enabled or not placed.movable:
            return None
        cpu = current_cpu()
        if cpu is None:
            return None
        try:
            mine = os.sched_getaffinity(0)
            if self._everywhere is None:
                self._everywhere = mine
            if len(mine) > 1:
                os.sched_setaffinity(0, (cpu,))
        except OSError as exc:
            log.info("running sandbox calls wherever the scheduler puts them: %s", exc)
            self.enabled = False
            return None
        if placed.home != cpu and not self._pin(placed, (cpu,)):
            self._give_back(mine)
            return None
        placed.home = cpu
        return mine

    def release(self, mine: Set[int]) -> None:
        """The calling thread may run anywhere it could before the call."""
        self._give_back(mine)

    def free(self, placed: Placed) -> None:
        """A worker serving a call that is not held runs wherever the scheduler puts it."""
        if placed.home is None or not placed.movable:
            return
        everywhere = self._everywhere or os.sched_getaffinity(0)
        elsewhere = set(everywhere) - {placed.home, current_cpu()}
        # Widening the mask alone leaves the processes queued on the CPU they were held on,
        # perhaps beside the caller that now polls for their answer; a mask without either
        # CPU moves them (with none left, they stay where they are).
        if elsewhere and not self._pin(placed, elsewhere):
            return
        if self._pin(placed, everywhere):
            placed.home = None

    def _pin(self, placed: Placed, cpus: Set[int] | tuple[int, ...]) -> bool:
        if not placed.alive():  # the call finds out it died and says why
            return True
        try:
            for pid in placed.pids:
                os.sched_setaffinity(pid, cpus)
        except ProcessLookupError:  # the worker died: the call finds out and says why
            return True
        except PermissionError as exc:  # no CAP_SYS_NICE over the worker's uid: no worker will be movable
            log.info("running sandbox calls wherever the scheduler puts them: %s", exc)
            placed.movable = False
            self.enabled = False
            return False
        except OSError as exc:
            log.info("sandbox worker processes %s stay where the scheduler puts them: %s", placed.pids, exc)
            placed.movable = False
            return False
        return True

    @staticmethod
    def _give_back(mine: Set[int]) -> None:
        if len(mine) > 1:
            try:
                os.sched_setaffinity(0, mine)
            except OSError as exc:
                log.warning("cannot give the calling thread back its CPUs %s: %s", sorted(mine), exc)
