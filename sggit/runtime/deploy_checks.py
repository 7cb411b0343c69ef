"""A topology's `verify:` block on a deploy: every check under one shared deadline.

The checks are polled (sggit.runtime.deadline) through the caller's
`tentatively`, so only the deciding poll is scored; a check about a resource
that could not be deployed is skipped, saying why.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from sggit.contract import nodes as n
from sggit.runtime.deadline import Backoff, Clock, Progress, converge
from sggit.runtime.verification import expand_checks

RunCheck = Callable[[str, dict[str, Any]], tuple[bool, Any, str | None]]


class CheckResult(BaseModel):
    locus: str
    input: dict[str, Any]
    status: Literal["healthy", "unhealthy", "skipped"]
    detail: str = ""


@dataclass
class Wait:
    """How a deploy waits for its verify window: a deadline on `clock`, checks polled tentatively.

    `tentatively(work)` runs work holding back what it records and returns it with
    a commit (`Organism.tentatively`); the deciding poll is committed.
    """

    clock: Clock
    tentatively: Callable[[Callable[[], Any]], tuple[Any, Callable[[], None]]] = lambda work: (work(), lambda: None)
    settled: Callable[[], bool] | None = None
    progress: Progress | None = None
    backoff: Backoff = field(default_factory=Backoff)


def verify(topo: n.Topology, names: dict[str, Any], run_check: RunCheck, wait: Wait | None, absent: set[str]) -> list[CheckResult]:
    """Every check polled under one shared deadline; a check about a resource that could not exist is skipped, saying why.

    Without `wait` (nothing was created, or --no-wait) the checks run once, at once.
    """
    if topo.verify is None:
        return []
    calls = expand_checks(topo.verify.items, names)

    def once() -> list[CheckResult]:
        out: list[CheckResult] = []
        for locus, params in calls:
            about = [v for v in params.values() if isinstance(v, str) and any(v == a or v.startswith(a + ".") for a in absent)]
            if about:
                out.append(CheckResult(locus=locus, input=params, status="skipped", detail=f"{about[0]} was not deployed"))
                continue
            ok, output, error = run_check(locus, params)
            healthy = bool(ok and isinstance(output, dict) and output.get("healthy", True))
            detail = "" if healthy else (error or symptom(output))
            out.append(CheckResult(locus=locus, input=params, status="healthy" if healthy else "unhealthy", detail=detail))
        return out

    if wait is None:
        return once()
    held = wait.tentatively

    def poll() -> tuple[bool, list[dict[str, Any]], Callable[[], None]]:
        out, commit = held(once)
        return all(c.status != "unhealthy" for c in out), [{"check": c} for c in out], commit

    window = topo.verify.window.seconds if topo.verify.window else 0.0
    verdict = converge(poll, window, wait.clock, settled=wait.settled, progress=wait.progress,
                       label=f"verify topology {topo.name}", backoff=wait.backoff)
    return [r["check"] for r in verdict.results]


def symptom(output: Any) -> str:
    if isinstance(output, dict):
        for key in ("error", "reason", "detail", "summary"):
            if output.get(key):
                return str(output[key])
        return "unhealthy: " + ", ".join(f"{k}={json.dumps(v)}" for k, v in output.items() if k != "healthy")
    return "unhealthy"
