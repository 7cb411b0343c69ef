"""Writers killed at a random moment: the round every crash test repeats."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence


def kill_writers(target: Callable[..., object], writers: Sequence[tuple[object, ...]], after: float) -> None:
    """Fork one process per argument tuple to run `target`, SIGKILL them all `after` seconds on, and check
    that the kill ended each: a writer that died of its own error first would prove nothing."""
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=target, args=args) for args in writers]
    for proc in procs:
        proc.start()
    time.sleep(after)
    for proc in procs:
        os.kill(proc.pid, signal.SIGKILL)
    for proc in procs:
        proc.join()
        assert proc.exitcode == -signal.SIGKILL, "a writer died of an error, not of the kill"
