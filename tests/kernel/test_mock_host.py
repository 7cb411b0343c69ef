"""A phenotype's mock host: created once however many runs start at the same moment, and resettable."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from sggit.genome.repo import Genome
from sggit.kernel.mock import MockKernel
from tests.helpers import sg_in


def _first_run(root: str, i: int, barrier, errors) -> None:  # type: ignore[no-untyped-def]
    from sggit.runtime.session import run_kernel

    try:
        genome = Genome.open(root)
        barrier.wait()
        with run_kernel("mock", genome, "dell_r740") as kernel:
            kernel.add_address("eno1", f"10.9.{i}.1/24")
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        errors.put(f"{type(exc).__name__}: {exc}")


def test_concurrent_first_runs_share_one_new_mock_host(project: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    n = 12
    barrier, errors = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_first_run, args=(str(project), i, barrier, errors)) for i in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    assert [p.exitcode for p in procs] == [0] * n
    state = MockKernel.from_json((project / ".git" / "sggit" / "mock-dell_r740.json").read_text())
    assert {f"10.9.{i}.1/24" for i in range(n)} <= set(state.list_addresses("eno1"))


def test_mock_reset_puts_the_host_back_as_it_boots(project: Path) -> None:
    run = ("run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}')
    sg_in(project, *run)
    again = sg_in(project, *run)  # the host keeps br0: the seed re-applies idempotently and says nothing changed
    assert json.loads(again.stdout)["output"]["changed"] is False
    reset = sg_in(project, "kernel", "mock-reset", "--phenotype", "dell_r740")
    assert "mock host of dell_r740 reset" in reset.stdout
    state = MockKernel.from_json((project / ".git" / "sggit" / "mock-dell_r740.json").read_text())
    assert "br0" not in {link["name"] for link in state.list_links()}
    sg_in(project, *run)
    missing = sg_in(project, "kernel", "mock-reset", "--phenotype", "nosuch", code=2)
    assert "no phenotype nosuch" in missing.stderr
