"""A small process-pool Evaluator for tests, benchmarks and offline use.

The runtime judges candidates through its sandbox pool (network namespace,
resource limits, import allowlist); this evaluator only gives the isolation a
search needs to survive its own candidates: each candidate runs in a separate
warm worker process (in a scratch directory removed on close), with a per-case
time limit, a memory cap, and a hard deadline after which the worker is killed
and replaced. It is not a security boundary.
"""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

from sggit.engines.base import Case, Evaluation, Evaluator, not_judged

_WORKER = str(Path(__file__).with_name("_worker.py"))


class _Worker:
    def __init__(self, cwd: str) -> None:
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", _WORKER],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=self._cwd,
            )
            self._buffer = b""
        return self._proc

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()

    def _readline(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        """One reply line; None on timeout, b"" when the worker closed its end (it died)."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def run(self, request: bytes, n_cases: int, hard_limit: float) -> dict[str, Any]:
        """The worker's reply: `results`, `errors` and `steps`, each padded to `n_cases`."""
        proc = self._start()
        assert proc.stdin is not None
        try:
            proc.stdin.write(request)
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.stop()
            return _failed(n_cases, "evaluation worker died")
        line = self._readline(proc, time.monotonic() + hard_limit)
        if not line:
            died = line == b""
            self.stop()
            return _failed(n_cases, "evaluation worker died" if died else f"killed after {hard_limit:.1f}s")
        reply = json.loads(line)
        results = [bool(r) for r in reply.get("results", [])][:n_cases]
        errors = list(reply.get("errors", []))[:n_cases]
        steps = list(reply.get("steps", []))[:n_cases]
        results += [False] * (n_cases - len(results))
        errors += [errors[-1] if errors else "no result"] * (n_cases - len(errors))
        steps += [None] * (n_cases - len(steps))
        return {"results": results, "errors": errors, "steps": steps}


def _failed(n_cases: int, why: str) -> dict[str, Any]:
    return {"results": [False] * n_cases, "errors": [why] * n_cases, "steps": [None] * n_cases}


class ProcessEvaluator(Evaluator):
    """Judges candidates in `workers` warm processes; use as a context manager to stop them.

    `case_timeout` bounds each case inside the worker; a worker that has not answered
    `grace` seconds after all its cases' limits is killed and replaced.
    """

    def __init__(self, workers: int | None = None, *, case_timeout: float = 0.5, grace: float = 1.0) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.case_timeout = case_timeout
        self.grace = grace
        self.evaluated = 0
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._scratch = tempfile.TemporaryDirectory(prefix="sggit-gp-")
        self._all = [_Worker(self._scratch.name) for _ in range(self.workers)]
        for worker in self._all:
            self._idle.put(worker)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gp-eval")
        self._lock = threading.Lock()

    def _ask(self, source: str, cases: list[Case], **flags: bool) -> dict[str, Any]:
        payload = [{"input": c.input, "expected": c.expected} for c in cases]
        hard_limit = self.case_timeout * max(1, len(cases)) + self.grace
        request = (json.dumps({"source": source, "cases": payload, "timeout": self.case_timeout, **flags}) + "\n").encode()
        worker = self._idle.get()
        try:
            return worker.run(request, len(cases), hard_limit)
        finally:
            self._idle.put(worker)

    def evaluate(self, sources: list[str], cases: list[Case], *, stop_early: bool = False,
                 expired: Callable[[], bool] | None = None) -> list[Evaluation]:
        def one(source: str) -> Evaluation:
            if expired is not None and expired():
                return not_judged(len(cases))
            reply = self._ask(source, cases, stop_early=stop_early)
            results = reply["results"]
            return Evaluation(passed=sum(results), total=len(cases), results=results, errors=reply["errors"])

        out = list(self._pool.map(one, sources))
        with self._lock:
            self.evaluated += sum(ev.judged for ev in out)
        return out

    def steps(self, source: str, cases: list[Case]) -> list[int | None] | None:
        steps: list[int | None] = self._ask(source, cases, count_steps=True)["steps"]
        return steps

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for worker in self._all:
            worker.stop()
        self._scratch.cleanup()

    def __enter__(self) -> ProcessEvaluator:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
