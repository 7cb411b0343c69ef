"""Ctrl-C during a pathway is a failure of the step it lands in: the host is left as the failure policy says.

The interrupt is sent to a real `sggit run` while step 3 (mac_preserve) spins in
its sandbox (its steps run in threads, which the signal does not reach), once steps 1 and 2 are journalled; the mock host, saved as the
command exits, must then hold none of what steps 1 and 2 made. The spinning call
is ended at once, not left to its CPU limit, and is not scored: the user stopped
it. The seed behind it must not be tried once the user has said stop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sggit.kernel.mock import MockKernel
from tests.helpers import sggit

SPIN = "def execute(input_json):\n    while True:\n        pass\n"
PATHWAY = {"management_bridge": "mgmt", "uplink_interface": "eno1", "stp_enabled": False}


def _journalled(project: Path, locus: str) -> bool:
    path = project / ".git" / "sggit" / "fitness.journal"
    return path.exists() and any(json.loads(line).get("locus") == locus for line in path.read_text().splitlines() if line.strip())


def _interrupt_at_mac_preserve(project: Path) -> subprocess.CompletedProcess[str]:
    (project / "spin.py").write_text(SPIN)
    sggit(project, "register", "mac_preserve", "spin.py", "--as", "dominant", "--phenotype", "dell_r740")
    # A shell starts a background job with SIGINT ignored, and the child would inherit that;
    # a terminal's Ctrl-C reaches a command whose SIGINT is at its default.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run = subprocess.Popen([sys.executable, "-m", "sggit", "run", "provision_management_bridge", "--phenotype", "dell_r740",
                                "--timeout", "60", "--no-wait", "--input", json.dumps(PATHWAY)],
                               cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "SGGIT_HOST": "testhost"})
    finally:
        signal.signal(signal.SIGINT, inherited)
    deadline = time.monotonic() + 60
    while not _journalled(project, "bridge_uplink"):
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "steps 1 and 2 never finished"
        time.sleep(0.05)
    time.sleep(0.3)  # into mac_preserve's spin
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    return subprocess.CompletedProcess(run.args, run.returncode, out, err)


def test_an_interrupted_pathway_undoes_the_steps_its_policy_rolls_back(project: Path) -> None:
    done = _interrupt_at_mac_preserve(project)
    assert done.returncode == 130, done.stderr
    assert "sggit: interrupted: pathway provision_management_bridge: undid steps 2, 1" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    host = MockKernel.from_json((project / ".git" / "sggit" / "mock-dell_r740.json").read_text())
    assert "mgmt" not in {link["name"] for link in host.list_links()}
    assert host.get_link("eno1")["master"] is None
    tried = [json.loads(line)["allele"] for line in (project / ".git" / "sggit" / "fitness.journal").read_text().splitlines()
             if line.strip() and json.loads(line)["locus"] == "mac_preserve"]
    assert tried == []  # the spinning call was ended by the interrupt: not the allele's failure, and no fallback tried


def test_a_pathway_that_preserves_what_works_keeps_it_when_interrupted(project: Path) -> None:
    contract = project / "contracts" / "pathways" / "provision_management_bridge.sg"
    contract.write_text(contract.read_text().replace("rollback completed steps", "preserve what works"))
    done = _interrupt_at_mac_preserve(project)
    assert done.returncode == 130, done.stderr
    assert "pathway provision_management_bridge: kept steps 1, 2, as its failure policy says" in done.stderr, done.stderr
    host = MockKernel.from_json((project / ".git" / "sggit" / "mock-dell_r740.json").read_text())
    assert host.get_link("eno1")["master"] == "mgmt"
