"""A crowd of hosts pushing to one remote at once, as a ratio against the same crowd pushing one by one.

Each host adds its own allele to one locus (genome tree, lineage note,
phenotype stack, fitness note, proposal), so every push races on the three
shared refs. The baseline is the same crowd, built the same way, pushing one
after another: no host ever loses a race there. The ratio is what the race
costs; the pushes per host say how many rounds it took. SGGIT_BENCH_CROWD sets
the crowd (default 20; the fleet issue's figure is 50).

    pytest benchmarks/bench_fleet.py --benchmark-only -s
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sggit.genome import fleet
from tests import fleet_crowd

HOSTS = int(os.environ.get("SGGIT_BENCH_CROWD", "20"))


@pytest.fixture
def pushes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the `git push` processes sggit starts."""
    count = [0]
    real = fleet._git

    def counted(genome, *args):  # type: ignore[no-untyped-def]
        if args[0] == "push":
            count[0] += 1
        return real(genome, *args)

    monkeypatch.setattr(fleet, "_git", counted)
    yield count


def test_a_crowd_pushing_at_once_vs_one_by_one(benchmark, tmp_path: Path, pushes: list[int]) -> None:
    rounds = iter(range(100))

    def one_by_one() -> float:
        crowd = fleet_crowd.build(tmp_path / f"seq{next(rounds)}", HOSTS)
        start = time.perf_counter()
        for genome in crowd.hosts:
            assert fleet.push(genome, str(crowd.bare)).ok
        took = time.perf_counter() - start
        crowd.free()
        return took

    def setup():  # type: ignore[no-untyped-def]
        pushes[0] = 0
        return (fleet_crowd.build(tmp_path / f"storm{next(rounds)}", HOSTS),), {}

    def storm(crowd: fleet_crowd.Crowd) -> None:
        reports = fleet_crowd.push_at_once(crowd)
        assert all(getattr(r, "ok", False) for r in reports.values()), reports
        crowd.free()

    benchmark.pedantic(storm, setup=setup, rounds=2, iterations=1)
    per_host = pushes[0] / HOSTS
    baseline = min(one_by_one() for _ in range(2))
    ratio = benchmark.stats.stats.min / baseline
    benchmark.extra_info.update({"hosts": HOSTS, "one_by_one_s": baseline, "ratio_vs_one_by_one": ratio, "pushes_per_host": per_host})
    print(f"\n{HOSTS} hosts pushing at once: {ratio:.2f}x the same pushes one by one"
          f" ({benchmark.stats.stats.min:.1f} s against {baseline:.1f} s), {per_host:.1f} git pushes per host")
