"""Command start: `sggit --version` and `sggit status` as subprocesses, against `python -c pass`.

A command pays for every module it imports before it does anything, so this is
the cost of the command table and of deferring heavy imports to the commands
that use them. Each side is a fresh interpreter of the same executable (the
installed `sggit` console script, against `python -c pass`), timed with `time.perf_counter` around
`subprocess.run`, minimum of the rounds (the round least disturbed by the rest of
the machine), rounds of the two taken alternately in the same test so the ratio compares like with like.

`status` runs on a freshly initialised copy of the shipped genome, twice over:
*warm*, repeated with nothing changed, so it is printed from the kept output of
the last full status (`sggit.cli.fast_status`, no click, pygit2 or pydantic);
and *cold*, with the kept output removed before each round, which is what the
first status after any change (a run, a sync, a pull) costs. Targets:
`--version` at most 3x, `status` at most 4x. The ratio is printed and recorded in
`extra_info`; it is not asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROUNDS = 15


def _forget(genome: Path) -> None:
    for kept in (genome / ".git" / "sggit" / "cache").glob("status-*.snap"):
        kept.unlink()


def _best_pair(ours: list[str], baseline: list[str], cwd: Path, env: dict[str, str], before: Callable[[], None]) -> tuple[float, float]:
    """Best of the rounds of each, taken alternately so both sides see the same spells of machine load."""
    best = [float("inf"), float("inf")]
    for _ in range(ROUNDS):
        for side, argv in enumerate((ours, baseline)):
            if side == 0:
                before()
            started = time.perf_counter()
            subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
            best[side] = min(best[side], time.perf_counter() - started)
    return best[0], best[1]


@pytest.fixture(scope="module")
def genome(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sggit.genome.init import init_project

    root = tmp_path_factory.mktemp("startup") / "genome"
    init_project(root)
    return root


@pytest.mark.parametrize("args, cold, target", [(("--version",), False, 3.0), (("status",), False, 4.0), (("status",), True, 4.0)],
                         ids=["version", "status-warm", "status-cold"])
def test_command_start(benchmark, genome: Path, args: tuple[str, ...], cold: bool, target: float) -> None:
    env = {**os.environ, "SGGIT_HOST": "bench"}
    script = Path(sys.executable).with_name("sggit")
    command = [str(script), *args] if script.exists() else [sys.executable, "-m", "sggit", *args]
    before = (lambda: _forget(genome)) if cold else (lambda: None)
    subprocess.run(command, cwd=genome, env=env, check=True, capture_output=True)  # the full status keeps its output
    benchmark.pedantic(lambda: subprocess.run(command, cwd=genome, env=env, check=True, capture_output=True), setup=before, rounds=ROUNDS, iterations=1)
    ours, baseline = _best_pair(command, [sys.executable, "-c", "pass"], genome, env, before)
    ratio = ours / baseline
    which = " ".join(args) + (" (cold)" if cold else " (warm)" if args == ("status",) else "")
    benchmark.extra_info.update({"ms": round(ours * 1000, 1), "baseline_ms": round(baseline * 1000, 1), "ratio": round(ratio, 2), "target": target})
    print(f"\nsggit {which}: {ours * 1000:.1f} ms, python -c pass {baseline * 1000:.1f} ms, ratio {ratio:.2f}x (target {target:g}x)")
