"""`make demo`: the main job on built-in defaults, with no network and no API key.

A genome is initialised in a fresh git repository, its contracts checked, a
pathway run on the mock kernel, a failure healed and a promotion committed; the
phenotype branch's history is shown as git itself prints it. Every step is the
CLI command a user would type, printed before it runs.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from sggit.cli import cli

PHENOTYPE = "dell_r740"


def _sggit(root: Path, *args: str) -> int:
    print(f"\n$ sggit {' '.join(shlex.quote(a) for a in args)}", flush=True)
    try:
        cli.main(args=["-C", str(root), *args], prog_name="sggit", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _git(root: Path, *args: str) -> None:
    print(f"\n$ git {' '.join(shlex.quote(a) for a in args)}", flush=True)
    subprocess.run(["git", "-C", str(root), *args], check=True)


def _section(title: str) -> None:
    print(f"\n==== {title} ====", flush=True)


def _require(code: int, what: str) -> None:
    if code != 0:
        raise SystemExit(f"demo: {what} failed (exit {code})")


def plant_regression(root: Path) -> str:
    """Register the shipped bridge_create seed with one token flipped, and make it dominant."""
    from sggit.genome import phenostore
    from sggit.genome.alleles import allele_source, register_allele
    from sggit.genome.lineage import Lineage
    from sggit.genome.repo import Genome
    from sggit.runtime.heal import PLANTED_LOCUS, plant_bug

    genome = Genome.open(root)
    healthy = phenostore.read_phenotype(genome, PHENOTYPE).locus(PLANTED_LOCUS).dominant
    assert healthy is not None
    broken = plant_bug(allele_source(genome, healthy).decode("utf-8"))
    lineage = Lineage(locus=PLANTED_LOCUS, origin="manual", parents=[healthy])
    planted = register_allele(genome, PLANTED_LOCUS, broken, lineage).id
    phenostore.register_in_phenotype(genome, PHENOTYPE, PLANTED_LOCUS, planted, "recessive")
    phenostore.promote(genome, PHENOTYPE, PLANTED_LOCUS, planted)
    return planted


def flapping(root: Path):  # type: ignore[no-untyped-def]
    """The incident end to end; a prepared allele stands in for the engine's answer."""
    from sggit.engines.fixture import FixtureEngine
    from sggit.runtime.scenarios import mac_flapping_scenario
    from sggit.shipped import shipped_root

    engine = FixtureEngine(shipped_root() / "fixtures" / "alleles", state_dir=root / ".git" / "sggit" / "demo-fixture")
    return mac_flapping_scenario(root, PHENOTYPE, engine)


def run_demo(root: Path, out: Callable[[str], None] = print) -> int:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    os.environ.setdefault("SGGIT_HOST", "demo-host")

    _section("1. a genome in git")
    _require(_sggit(root, "init"), "init")
    _require(_sggit(root, "check"), "check")

    _section("2. a pathway runs on the (simulated) kernel")
    _require(
        _sggit(root, "run", "provision_management_bridge", "--phenotype", PHENOTYPE, "--explain",
               "--input", '{"management_bridge": "mgmt", "uplink_interface": "eno1"}'),
        "provision_management_bridge",
    )
    _require(_sggit(root, "test", "--phenotype", PHENOTYPE), "conformance")

    _section("3. the paradigm's MAC-flapping incident, on the simulated kernel")
    print("moving the management bridge's uplink behind a switch that reflects traffic;")
    print("check_fdb_stability scores bridge_uplink, and a mutation answers the failure")
    print(flapping(root).render())

    _section("4. a regression, caught by fallback and healed without a network")
    planted = plant_regression(root)
    print(f"\na hand edit regresses bridge_create: allele {planted[:12]} (its existence check inverted) is made dominant")
    _sggit(root, "run", "bridge_create", "--phenotype", PHENOTYPE, "--explain",
           "--input", '{"bridge_name": "br-demo", "interfaces": []}')
    _require(_sggit(root, "heal", "bridge_create", "--phenotype", PHENOTYPE, "--engine", "gp", "--seed", "1", "--budget", "400"), "heal")
    print("\nthe promotion is a commit on its own branch, with a pull-request body for review:")
    _git(root, "log", "-1", "--format=%B", f"sggit/promote/{PHENOTYPE}/bridge_create")

    _section("5. the deployment's history is git history")
    _git(root, "log", "--format=%h %s%n%(trailers:only,unfold)", f"phenotype/{PHENOTYPE}")
    _require(_sggit(root, "sync"), "sync")
    _require(_sggit(root, "status", "--phenotype", PHENOTYPE), "status")
    _section("6. a data pipeline on SQLite heals a renamed CSV column")
    from sggit.domains.data.demo import data_story
    data_story(root.parent / "warehouse")
    print(f"\ndemo genome left in {root}")
    return 0


def main() -> int:
    target = os.environ.get("SGGIT_DEMO_DIR")
    root = Path(target) if target else Path(tempfile.mkdtemp(prefix="sggit-demo-")) / "genome"
    return run_demo(root)


if __name__ == "__main__":
    sys.exit(main())
