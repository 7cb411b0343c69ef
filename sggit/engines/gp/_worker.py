"""One evaluation worker: reads requests as JSON lines on stdin, answers on the original stdout.

Run as a script (stdlib only, no sggit import) so a worker starts in milliseconds.
A request is {"source": str, "cases": [{"input": {...}, "expected": {...} | null}], "timeout": s,
"stop_early": bool, "count_steps": bool}. With stop_early the cases after the first failed one
are skipped; with count_steps the reply also has "steps", the line events each case executed
(None for a case that raised or ran out of time), counted by a trace function.
The per-case limit is an interval timer raising a BaseException, which candidate
code catching `Exception` cannot swallow; the parent kills the worker if even that fails.
"""

from __future__ import annotations

import json
import os
import signal
import sys


class CaseTimeout(BaseException):
    pass


def _alarm(signum, frame):  # noqa: ANN001
    raise CaseTimeout()


def _arm(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _disarm() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


def _passes(output, expected):  # noqa: ANN001
    if not isinstance(output, str):
        return False, f"execute returned {type(output).__name__}, not a JSON string"
    try:
        data = json.loads(output)
    except ValueError as exc:
        return False, f"output is not JSON: {exc}"
    if not isinstance(data, dict):
        return False, "output is not a JSON object"
    if expected is None:
        if data.get("error") is not None:
            return False, f"reported error: {data.get('error')}"
        if data.get("success", True) is False:
            return False, "reported success=false"
        return True, None
    for key, want in expected.items():
        if key not in data:
            return False, f"missing output field {key}"
        if data[key] != want:
            return False, f"{key}: expected {want!r}, got {data[key]!r}"
    return True, None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


STEP_CAP = 5_000_000


class _Steps:
    def __init__(self) -> None:
        self.count = 0

    def trace(self, frame, event, arg):  # noqa: ANN001, ANN201
        if event == "line":
            self.count += 1
            if self.count > STEP_CAP:
                raise CaseTimeout()
        return self.trace

    def global_trace(self, frame, event, arg):  # noqa: ANN001, ANN201
        return self.trace if frame.f_code.co_filename == "<allele>" else None


def run(request: dict) -> dict:
    cases = request["cases"]
    timeout = float(request["timeout"])
    stop_early = bool(request.get("stop_early"))
    counting = bool(request.get("count_steps"))
    results = [False] * len(cases)
    errors: list = [None] * len(cases)
    steps: list = [None] * len(cases)
    namespace: dict = {"__name__": "allele"}
    try:
        code = compile(request["source"], "<allele>", "exec")
        _arm(timeout)
        try:
            exec(code, namespace)
        finally:
            _disarm()
        execute = namespace["execute"]
    except CaseTimeout:
        return {"results": results, "errors": ["timed out loading the source"] * len(cases)}
    except BaseException as exc:  # noqa: BLE001
        return {"results": results, "errors": [_describe(exc)] * len(cases)}
    for i, case in enumerate(cases):
        counter = _Steps() if counting else None
        try:
            _arm(timeout)
            if counter is not None:
                sys.settrace(counter.global_trace)
            try:
                output = execute(json.dumps(case["input"]))
            finally:
                sys.settrace(None)
                _disarm()
            results[i], errors[i] = _passes(output, case.get("expected"))
            if counter is not None:
                steps[i] = counter.count
        except CaseTimeout:
            errors[i] = f"timed out after {timeout}s"
            for j in range(i + 1, len(cases)):
                errors[j] = "skipped after a timeout"
            break
        except RecursionError:
            errors[i] = "RecursionError"
        except BaseException as exc:  # noqa: BLE001
            errors[i] = _describe(exc)
        if stop_early and not results[i]:
            for j in range(i + 1, len(cases)):
                errors[j] = "skipped after a failed case"
            break
    return {"results": results, "errors": errors, "steps": steps}


def main() -> None:
    try:
        import resource

        limit = int(os.environ.get("SGGIT_GP_WORKER_MEMORY", str(1 << 30)))
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")
    signal.signal(signal.SIGALRM, _alarm)
    sys.setrecursionlimit(400)
    for line in sys.stdin:
        try:
            reply = run(json.loads(line))
        except MemoryError:
            reply = {"results": [], "errors": ["MemoryError"]}
        channel.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
