"""Command start: `sggit --version` and `sggit status` as subprocesses, against `python -c pass`.

A command pays for every module it imports before it does anything, so this is
the cost of the command table and of deferring heavy imports to the commands
that use them. Each side is a fresh interpreter of the same executable (the
installed `sggit` console script, against `python -c pass`), timed with `time.perf_counter` around
`subprocess.run`, minimum of the rounds (the round least disturbed by the rest of
the machine), all measured in the same test so the ratio compares like with like.

`status` runs on a freshly initialised copy of the shipped genome. Targets:
`--version` at most 3x, `status` at most 4x. The ratio is printed and recorded in
`extra_info`; it is not asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROUNDS = 15


def _best(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.fixture(scope="module")
def genome(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sggit.genome.init import init_project

    root = tmp_path_factory.mktemp("startup") / "genome"
    init_project(root)
    return root


@pytest.mark.parametrize("args, target", [(("--version",), 3.0), (("status",), 4.0)], ids=["version", "status"])
def test_command_start(benchmark, genome: Path, args: tuple[str, ...], target: float) -> None:
    env = {**os.environ, "SGGIT_HOST": "bench"}
    script = Path(sys.executable).with_name("sggit")
    command = [str(script), *args] if script.exists() else [sys.executable, "-m", "sggit", *args]
    baseline = _best([sys.executable, "-c", "pass"], genome, env)
    benchmark.pedantic(lambda: subprocess.run(command, cwd=genome, env=env, check=True, capture_output=True), rounds=ROUNDS, iterations=1)
    ours = _best(command, genome, env)
    ratio = ours / baseline
    benchmark.extra_info.update({"ms": round(ours * 1000, 1), "baseline_ms": round(baseline * 1000, 1), "ratio": round(ratio, 2), "target": target})
    print(f"\nsggit {' '.join(args)}: {ours * 1000:.1f} ms, python -c pass {baseline * 1000:.1f} ms, ratio {ratio:.2f}x (target {target:g}x)")
