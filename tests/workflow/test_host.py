"""Host mode: the shipped systemd units, and the exact command their timer runs."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sggit.genome import phenostore
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from tests.helpers import sggit
from tests.workflow.helpers import INPUT, PATHWAY, PHENOTYPE, ROOT, git

UNITS = ROOT / "contrib" / "systemd"
SGGIT = Path(sys.executable).parent / "sggit"


def _service() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(UNITS / "sggit-host@.service")
    return unit


def timer_command(instance: str, overrides: dict[str, str]) -> list[str]:
    """ExecStart as systemd expands it: %i the instance, ${VAR} from Environment= (with overrides)."""
    text = (UNITS / "sggit-host@.service").read_text()
    env = dict(re.findall(r"^Environment=(\w+)=(.*)$", text, re.M)) | overrides
    line = re.search(r"^ExecStart=(.*)$", text, re.M)
    assert line is not None
    words = shlex.split(line.group(1).replace("%i", instance))
    words = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], w) for w in words]
    assert words[0] == "/usr/local/bin/sggit"
    return [str(SGGIT), *words[1:]]


def _set_interval(root: Path, value: str) -> None:
    genome = Genome.open(root)

    def edit(pmap):  # type: ignore[no-untyped-def]
        changed = pmap.model_copy(deep=True)
        changed.settings["host_interval"] = value
        return changed

    phenostore.change_phenotype(genome, PHENOTYPE, edit, action="settings", subject=f"host_interval {value}")


def test_the_timer_command_checks_deployments_syncs_and_pushes_once_per_interval(genome_project: Path, tmp_path: Path) -> None:
    root = genome_project
    bare = tmp_path / "fleet.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(root, "remote", "add", "origin", str(bare))
    _set_interval(root, "10m")
    sggit(root, "run", PATHWAY, "--phenotype", PHENOTYPE, "--input", json.dumps(INPUT), host="host-a")
    command = timer_command(PHENOTYPE, {"SGGIT_REPO": str(root), "SGGIT_KERNEL": "mock"})
    env = {"PATH": "/usr/bin:/bin", "SGGIT_HOST": "host-a", "HOME": str(tmp_path)}
    first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{PATHWAY} {json.dumps(INPUT | {'stp_enabled': True}, sort_keys=True)}: healthy" in first.stdout
    assert re.search(r"synced [1-9]\d* record\(s\); pushed [1-9]\d* ref\(s\) to origin", first.stdout), first.stdout
    assert git(bare, "rev-parse", "refs/notes/sggit/fitness/host-a") == git(root, "rev-parse", "refs/notes/sggit/fitness/host-a")
    assert git(bare, "rev-parse", f"phenotype/{PHENOTYPE}") == git(root, "rev-parse", f"phenotype/{PHENOTYPE}")
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.returncode == 0
    assert re.search(r"not due; next cycle in \d+s \(host_interval 600s\)", again.stdout), again.stdout


def test_a_bad_interval_is_a_located_usage_error(genome_project: Path) -> None:
    _set_interval(genome_project, "soon")
    done = sggit(genome_project, "host", "cycle", "--phenotype", PHENOTYPE, "--kernel", "mock", "--no-push", code=None)
    assert done.returncode == 2 and f"phenotype {PHENOTYPE}: settings.host_interval:" in done.stderr and "Traceback" not in done.stderr


def test_units_are_valid_for_systemd(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    service = _service()
    assert service["Service"]["Type"] == "oneshot"
    for name in ("sggit-host@.service", "sggit-host@.timer"):
        text = (UNITS / name).read_text().replace("/usr/local/bin/sggit", str(SGGIT))
        (tmp_path / name.replace("@", "@dell_r740")).write_text(text)
    done = subprocess.run([analyze, "verify", str(tmp_path / "sggit-host@dell_r740.service"), str(tmp_path / "sggit-host@dell_r740.timer")],
                          capture_output=True, text=True)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "sggit-host" in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_a_misspelt_remote_is_refused_before_the_cycle_checks_or_syncs_anything(genome_project: Path, tmp_path: Path) -> None:
    root = genome_project
    git(root, "remote", "add", "origin", str(tmp_path / "fleet.git"))
    sggit(root, "run", PATHWAY, "--phenotype", PHENOTYPE, "--input", json.dumps(INPUT), host="host-a")
    pending = len(pending_records(Genome.open(root)))
    done = sggit(root, "host", "cycle", "--phenotype", PHENOTYPE, "--kernel", "mock", "--remote", "orign", code=2, host="host-a")
    assert "orign" in done.stderr and "configured remotes: origin" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""  # no check ran
    assert len(pending_records(Genome.open(root))) == pending  # nothing was synced
    again = sggit(root, "host", "cycle", "--phenotype", PHENOTYPE, "--kernel", "mock", "--no-push", host="host-a")
    assert "not due" not in again.stdout  # the refused cycle did not count as one
