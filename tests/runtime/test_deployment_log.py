"""Deployment records are appended without fsync: a SIGKILL still loses none that was acknowledged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sggit.genome.repo import Genome
from sggit.runtime.temporal import CheckCall, Deployment, deployments, record_deployment
from tests.crash import kill_writers


def _writer(repo: str, log_path: str) -> None:
    genome = Genome.open(repo)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    number = 0
    while True:
        number += 1
        record_deployment(genome, Deployment(phenotype="dell_r740", target="t", kind="locus", input={"n": number},
                                             checks=[CheckCall(locus="check_link_state", input={"device": f"eth{number}"})]))
        os.write(log, f"{number}\n".encode())


@pytest.mark.slow
def test_sigkilled_writer_loses_no_acknowledged_deployment(genome: Genome, tmp_path: Path) -> None:
    for round_no in range(4):
        log = tmp_path / f"acks{round_no}"
        kill_writers(_writer, [(str(genome.workdir), str(log))], 0.1 + 0.1 * round_no)
        acked = {int(line) for line in log.read_text().split()}
        assert acked, "the writer acknowledged nothing before the kill"
        recorded = [d.input["n"] for d in deployments(Genome.open(genome.workdir), "dell_r740", "t")]
        assert acked <= set(recorded)
        # the next round counts from 1 again: set this round's log aside
        path = genome.state_dir / "temporal" / "deployed-dell_r740.jsonl"
        path.rename(path.with_name(f"round{round_no}.jsonl"))
