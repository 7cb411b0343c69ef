"""README.md's walkthroughs, their commands taken from the README and run by a shell, end as the README says:
the session, the MAC-flapping incident, and the real-kernel provisioning step of the fleet walkthrough; and
docs/fitness.md's block likewise."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sggit.genome import phenostore
from sggit.genome.alleles import allele_source
from sggit.genome.lineage import read_lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.kernel.mock import MockKernel
from sggit.runtime.arena import Thresholds
from tests.kernel.conftest import Namespaces, _sh, netns  # noqa: F401  (the fixture, reused)

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
GARP = ROOT / "fixtures" / "alleles" / "bridge_uplink" / "garp.py"


def readme_block(marker: str, text: str = README) -> tuple[list[str], str]:
    """The indented block of README (or `text`) holding `marker`, as shell lines (continuations joined),
    and the prose after it."""
    blocks = re.findall(r"\n\n((?:    .*\n)+)\n((?:[^\n]+\n)+)", text)
    block, prose = next((b, p) for b, p in blocks if marker in b)
    script = re.sub(r"\\\n\s*", "", "".join(line[4:] for line in block.splitlines(keepends=True)))
    return script.splitlines(), " ".join(prose.split())


def walkthrough() -> tuple[list[str], str]:
    """The block that injects the reflecting switch, and the prose after it."""
    return readme_block("kernel inject reflecting_switch")


def shell_env() -> dict[str, str]:
    """PATH with the sggit installed next to this interpreter first; no API key to reach for."""
    bin_dir = Path(sys.executable).parent
    assert shutil.which("sggit", path=str(bin_dir)), "sggit is installed next to this interpreter"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SGGIT_HOST": "testhost"}
    env.pop("ANTHROPIC_API_KEY", None)
    return env


def test_the_readme_session_runs_as_its_comments_say(tmp_path: Path) -> None:
    commands, prose = readme_block("sggit lineage bridge_uplink")
    assert commands[0] == "git init fleet && cd fleet"
    env = shell_env()
    subprocess.run(["bash", "-e", "-c", commands[0]], cwd=tmp_path, env=env, check=True, capture_output=True)
    done = {c.split()[1]: subprocess.run(["bash", "-c", c], cwd=tmp_path / "fleet", env=env, capture_output=True, text=True)
            for c in commands[1:]}
    assert not [c for c, d in done.items() if "Traceback" in d.stderr]
    # the two lines README says exit 2 here: no API key, and no phenotype change yet to revert
    assert (done["generate"].returncode, done["rollback"].returncode) == (2, 2)
    assert "needs an API key" in done["generate"].stderr and "nothing before it" in done["rollback"].stderr
    assert "the `generate` line exits 2" in prose and "(exit 2: none yet)" in next(c for c in commands if c.startswith("sggit rollback"))
    assert {c: d.returncode for c, d in done.items() if c not in ("generate", "rollback")} == \
        dict.fromkeys(["init", "check", "run", "test", "gc", "status", "show", "why", "lineage", "sync", "doctor"], 0), \
        {c: d.stderr for c, d in done.items()}

    # the allele show and why name is the one the prose says: the shipped bridge_uplink seed
    named = next(c for c in commands if c.startswith("sggit show")).split()[2]
    assert f"`{named}` is the shipped `bridge_uplink` seed" in prose
    genome = Genome.open(tmp_path / "fleet")
    seed = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_uplink").dominant
    assert seed is not None and seed.startswith(named) and read_lineage(genome, "bridge_uplink", seed).origin == "seed"
    assert done["show"].stdout.startswith(f"allele {seed}\nlocus  bridge_uplink\n")
    assert f"Allele {seed[:12]} at locus bridge_uplink is a seed" in done["why"].stdout
    assert f'"{seed[:12]}" [label="{seed[:12]}\\nseed gen 0"]' in done["lineage"].stdout


def test_the_fitness_walkthrough_runs_on_the_shipped_genome(tmp_path: Path) -> None:
    """docs/fitness.md's block: a run that leaves its checks due, the checks, then three watch rounds."""
    commands, _ = readme_block("sggit verify --due", (ROOT / "docs" / "fitness.md").read_text())
    env = shell_env()
    subprocess.run(["bash", "-e", "-c", "git init -q g && cd g && sggit init --no-hook"], cwd=tmp_path, env=env, check=True, capture_output=True)
    done = [subprocess.run(["bash", "-c", c], cwd=tmp_path / "g", env=env, capture_output=True, text=True) for c in commands]
    assert [d.returncode for d in done] == [0, 0, 0], [d.stderr for d in done]
    assert "provision_management_bridge: healthy" in done[1].stdout
    assert [line.split()[1] for line in done[2].stdout.splitlines() if line.startswith("round ")] == ["1", "2", "3"]


@pytest.mark.netns
def test_the_readme_walkthrough_provisions_a_real_host_as_written(tmp_path: Path, netns: Namespaces) -> None:  # noqa: F811
    """The fleet walkthrough's `--kernel netlink` line, in a namespace whose NIC is named as the line says."""
    commands, _ = readme_block("sggit ci promote --push origin")
    line = next(c for c in commands if c.startswith("sggit run") and "--kernel netlink" in c)
    _sh("ip", "-n", netns.host, "link", "set", "eth0", "down")
    _sh("ip", "-n", netns.host, "link", "set", "eth0", "name", "eno1")
    _sh("ip", "-n", netns.host, "link", "set", "eno1", "up")
    env = shell_env()
    project = tmp_path / "genome"
    subprocess.run(["bash", "-e", "-c", f"git init -q {project} && cd {project} && sggit init --no-hook"], env=env, check=True, capture_output=True)
    done = subprocess.run(["bash", "-c", f"{line} --netns {netns.host}"], cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    out = json.loads(done.stdout)
    assert out["ok"] is True and out["verify"]["status"] == "healthy"
    assert netns.link("eno1")["master"] == "mgmt" and netns.link("mgmt")["linkinfo"]["info_kind"] == "bridge"


def test_the_readme_mac_flapping_walkthrough_ends_as_the_readme_says(tmp_path: Path) -> None:
    commands, prose = walkthrough()
    assert commands[0].startswith("git init flap") and any(c.startswith("sggit run bridge_uplink") for c in commands)
    env = shell_env()
    done = subprocess.run(["bash", "-e", "-c", "\n".join(commands)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"

    project = tmp_path / "flap"
    genome = Genome.open(project)
    pmap = phenostore.read_phenotype(genome, "dell_r740")
    entry = pmap.locus("bridge_uplink")
    garp = entry.dominant
    assert garp is not None and allele_source(genome, garp).decode() == GARP.read_text()
    lineage = read_lineage(genome, "bridge_uplink", garp)
    seed = lineage.parents[0]
    assert lineage.origin == "mutation" and read_lineage(genome, "bridge_uplink", seed).origin == "seed"
    assert entry.stack == [garp, seed]

    # the numbers the README gives are the ones the run produced
    records = [r for r in pending_records(genome) if r.locus == "bridge_uplink" and r.timescale == "convergence"]
    seed_failures = [r.ok for r in records if r.allele == seed]
    garp_runs = [r.ok for r in records if r.allele == garp]
    failures = int(re.search(r"after (\d+) convergence failures in a row the seed is demoted", prose).group(1))  # type: ignore[union-attr]
    ok, total = map(int, re.search(r"with (\d+) of (\d+) runs converged", prose).groups())  # type: ignore[union-attr]
    # the seed converged when provision_management_bridge built mgmt, then failed every move
    assert all(seed_failures[:-failures]) and seed_failures[-failures:] == [False] * failures
    assert failures == Thresholds.for_locus(pmap, "bridge_uplink").demote_after
    assert garp_runs.count(True) == ok and len(garp_runs) == total
    assert "flapping between eno1 and eno2" in prose and "aa:bb:cc:dd:00:01" in prose
    flap = lineage.failure.diagnostics[0]["output"]["flapping_macs"]  # what the engine was given
    assert [(f["mac"], f["ports"]) for f in flap] == [("aa:bb:cc:dd:00:01", ["eno1", "eno2"])]

    # "only bridge_uplink is charged": the bridge and its MAC were not the change being judged
    assert not [r for r in pending_records(genome) if r.locus in ("bridge_create", "mac_preserve") and not r.ok]

    # the phenotype's history: registered, recessive after its first run, the seed demoted
    log = [(c.trailers.get("Sggit-Action"), c.trailers.get("Sggit-Allele")) for c in phenostore.history(genome, "dell_r740")]
    assert log[:3] == [("demote", seed), ("recessive", garp), ("register", garp)]
    assert f"demote bridge_uplink: {seed[:12]}" in done.stdout
    status = next(line for line in done.stdout.splitlines() if line.strip().startswith("bridge_uplink "))
    assert garp[:12] in status and f" {total} calls" in status
    # the first move's --explain trace, on stderr
    assert f"bridge_uplink allele {seed[:7]} [stack]" in done.stderr and "failed (convergence)" in done.stderr
    # ... and what the diagnostic saw, as the README tells it: mgmt's MAC on eno1 and eno2
    said = next(line for line in done.stderr.splitlines() if line.strip().startswith('check_fdb_stability {"bridge": "mgmt"} said '))
    assert '"flapping_macs": [{"mac": "aa:bb:cc:dd:00:01", "ports": ["eno1", "eno2"]' in said
    assert f"{garp[:7]} passed its first run at bridge_uplink: now recessive" in done.stderr

    # the allele that now leads meets its contract's examples, as README's `sggit test` judges them
    tested = subprocess.run(["sggit", "test", "bridge_uplink", "--phenotype", "dell_r740", "--format", "json"],
                            cwd=project, env=env, capture_output=True, text=True)
    assert tested.returncode == 0 and {r["allele"] for r in json.loads(tested.stdout)} == {garp, seed}, tested.stdout

    # the host: mgmt's uplink is eno2, eno1 is down, and the bridge's MAC stays put
    host = MockKernel.from_json((project / ".git" / "sggit" / "mock-dell_r740.json").read_text())
    assert [p["name"] for p in host.list_ports("mgmt")] == ["eno2"] and host.get_link("eno1")["up"] is False
    host.sleep(30)
    assert {e["port"] for e in host.fdb("mgmt") if e["mac"] == "aa:bb:cc:dd:00:01" and not e["local"]} <= {"eno2"}

    # the moved uplink is what is watched now: eno1, down on purpose, is not held against it
    watched = subprocess.run(["sggit", "watch", "bridge_uplink", "--phenotype", "dell_r740", "--every", "1m", "--count", "1", "--format", "json"],
                             cwd=project, env=env, capture_output=True, text=True)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    rows = json.loads(watched.stdout)
    rows = rows["rounds"] if isinstance(rows, dict) else rows
    assert [r["input"]["uplink"] for r in rows] == ["eno2"] and all(r["healthy"] for r in rows)
