"""`make demo`: the main job on built-in defaults, with no network and no API key.

A genome is initialised in a fresh git repository, its contracts checked, a
pathway run on the mock kernel, a failure healed and a promotion committed; the
phenotype branch's history is shown as git itself prints it. Every step is the
CLI command a user would type, printed before it runs.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sggit.cli.inprocess import command_line, run_captured

PHENOTYPE = "dell_r740"


def _sggit(root: Path, *args: str, show: Callable[[list[str]], list[str]] | None = None) -> int:
    """Run one sggit command as a user would type it; print its output, or only what `show` picks from it."""
    print(f"\n{command_line(*args)}", flush=True)
    ran = run_captured(root, *args)
    for line in (show(ran.lines) if show is not None else ran.lines):
        print(f"  {line}")
    return ran.code


def _git(root: Path, *args: str) -> list[str]:
    print(f"\n$ git {' '.join(shlex.quote(a) for a in args)}", flush=True)
    done = subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True)
    return done.stdout.splitlines()


def _section(title: str) -> None:
    print(f"\n==== {title} ====", flush=True)


def _say(text: str) -> None:
    print(textwrap.fill(text, width=88, initial_indent="> ", subsequent_indent="  ", break_on_hyphens=False), flush=True)


def _require(code: int, what: str) -> None:
    if code != 0:
        raise SystemExit(f"demo: {what} failed (exit {code})")


def _init_summary(lines: list[str]) -> list[str]:
    created = [line.removeprefix("created ") for line in lines if line.startswith("created ") and "/" in line]
    count = {d: sum(1 for c in created if c.startswith(d + "/")) for d in ("contracts", "genome", "phenotypes")}
    kept = [line for line in lines if line.startswith(("registered", "installed", "hint:"))]
    return [f"created {count['contracts']} contracts, {count['genome']} seed alleles, {count['phenotypes']} phenotype files", *kept]


def _outcomes(counters: Any, allele: str) -> str:
    c = counters.get(allele)
    if c is None:
        return "no runs"
    return f"immediate {c.successes}/{c.total} ok, convergence {c.convergence_ok}/{c.convergence_total} ok"


def plant_regression(root: Path) -> str:
    """Register the shipped bridge_create seed with one token flipped, and make it dominant."""
    from sggit.app.scenarios import plant_regression as plant
    from sggit.genome.repo import Genome

    return plant(Genome.open(root), PHENOTYPE)


FLAP_MOVES = ("eno2", "eno1", "eno2")


def flapping(root: Path) -> tuple[str, str | None, list[dict[str, Any]]]:
    """README's MAC-flapping walkthrough, command for command: (seed, the allele that leads after, what the engine saw)."""
    from sggit.genome import phenostore
    from sggit.genome.lineage import read_lineage
    from sggit.genome.repo import Genome

    genome = Genome.open(root)
    seed = phenostore.read_phenotype(genome, PHENOTYPE).locus("bridge_uplink").dominant or ""
    _require(_sggit(root, "kernel", "inject", "reflecting_switch", "--mock", f".git/sggit/mock-{PHENOTYPE}.json", show=lambda _: []),
             "kernel inject")
    for uplink in FLAP_MOVES:
        _sggit(root, "run", "bridge_uplink", "--phenotype", PHENOTYPE, "--engine", "fixture", "--format", "text",
               "--input", json.dumps({"bridge": "mgmt", "uplink": uplink}), show=_move_lines)
    leader = phenostore.read_phenotype(genome, PHENOTYPE).locus("bridge_uplink").dominant
    lineage = read_lineage(genome, "bridge_uplink", leader) if leader and leader != seed else None
    seen = lineage.failure.diagnostics if lineage is not None and lineage.failure is not None else []
    return seed, leader, seen


def _move_lines(lines: list[str]) -> list[str]:
    """Which bridge_uplink alleles ran and how, and what became of the mutant: the rest is detail."""
    keep = ("passed its first run", "failed its first run", "demoted", "promoted")
    return [line.strip().replace("[mutation] ", "").replace("[stack] ", "") for line in lines
            if line.strip().startswith("bridge_uplink allele") or any(k in line for k in keep)]


def run_demo(root: Path, out: Callable[[str], None] = print) -> int:
    from sggit.genome import phenostore
    from sggit.genome.repo import Genome
    from sggit.genome.sync import live_counters
    from sggit.runtime.arena import Thresholds

    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    os.environ.setdefault("SGGIT_HOST", "demo-host")

    _section("1. A genome in git")
    _require(_sggit(root, "init", show=_init_summary), "init")
    _require(_sggit(root, "check"), "check")
    _say("Every allele is now a git blob on branch sggit/genome, and each deployment's map a TOML "
         "file on its own phenotype/<name> branch: everything below is ordinary git you can push and revert.")

    _section("2. A pathway runs on the simulated kernel")
    _require(_sggit(root, "run", "provision_management_bridge", "--phenotype", PHENOTYPE, "--format", "text",
                    "--input", '{"management_bridge": "mgmt", "uplink_interface": "eno1"}',
                    show=lambda lines: [line for line in lines if line.startswith(("pathway", "  step", "  verify"))]),
             "provision_management_bridge")
    _say("Each step ran the dominant allele of its locus in a confined worker; the verify checks after "
         "the `within` window scored convergence, not just the immediate answer.")

    _section("3. The paradigm's MAC-flapping incident")
    _say("The switch upstream now reflects traffic, and mgmt's uplink moves three times.")
    seed, mutant, seen = flapping(root)
    for check in seen:
        for item in (check.get("output") or {}).get("flapping_macs", []):
            print(f"  {check['locus']}: {item['mac']} flapping between {' and '.join(item['ports'])}")
    genome = Genome.open(root)
    counters = live_counters(genome).get("bridge_uplink", {})
    limit = Thresholds.for_locus(phenostore.read_phenotype(genome, PHENOTYPE), "bridge_uplink").demote_after
    print(f"  seed {seed[:7]} (moves the port only): {_outcomes(counters, seed)}")
    if mutant and mutant != seed:
        print(f"  mutant {mutant[:7]} (sends gratuitous ARP after the move): {_outcomes(counters, mutant)}")
    demoted = any(c.trailers.get("Sggit-Action") == "demote" and c.trailers.get("Sggit-Allele") == seed
                  for c in phenostore.history(genome, PHENOTYPE))
    if demoted and mutant and mutant != seed:
        _say(f"The seed failed convergence on each of its {len(FLAP_MOVES)} moves: after {limit} failures in a row it was "
             f"demoted. Given that failure and the flapping MACs, the engine had proposed the gratuitous-ARP "
             f"allele {mutant[:7]}, which converged and is now dominant.")
    else:
        _say("The seed kept failing convergence; no mutant took over this time.")

    _section("4. A regression, caught by fallback and healed without a network")
    planted = plant_regression(root)
    _say(f"A hand edit inverts bridge_create's existence check: allele {planted[:7]} is made dominant.")
    _sggit(root, "run", "bridge_create", "--phenotype", PHENOTYPE, "--format", "text",
           "--input", '{"bridge_name": "br-demo", "interfaces": []}',
           show=lambda lines: [line.strip() for line in lines if "bridge_create allele" in line or line.startswith("locus")])
    _say("The broken allele failed and the next one in the stack answered, so the host never saw the "
         "regression; the failure was recorded for the heal.")
    _require(_sggit(root, "heal", "bridge_create", "--phenotype", PHENOTYPE, "--engine", "gp", "--seed", "1", "--budget", "400",
                    show=lambda lines: [line.strip() for line in lines if " PASS" in line or "edits:" in line]), "heal")
    pmap = phenostore.read_phenotype(genome, PHENOTYPE)
    healed = pmap.locus("bridge_create").dominant or "?"
    promote = next((c for c in phenostore.history(genome, PHENOTYPE) if c.trailers.get("Sggit-Action") == "promote"
                    and c.trailers.get("Sggit-Allele") == healed), None)
    _say(f"gp repaired the broken allele's syntax tree. {healed[:7]} passed the examples, the recorded failure, the regression "
         f"screen and one real run; bridge_create is low risk, so {healed[:7]} is now dominant"
         + (f" (commit {promote.commit[:7]})." if promote else "."))
    body = _git(root, "log", "-1", "--format=%B", f"sggit/promote/{PHENOTYPE}/bridge_create")
    for line in [line for line in body[:8] if line.strip()]:
        print(f"  {line}")
    rollback = next((line for line in body if "sggit rollback" in line), "")
    print(f"  {rollback.strip()}")
    _say("That message is the pull request a reviewer sees: fitness, lineage, failure, diff, and the rollback command.")

    _section("5. The deployment's history is git history")
    for line in _git(root, "log", "--format=%h %s", "-6", f"phenotype/{PHENOTYPE}"):
        print(f"  {line}")
    _require(_sggit(root, "sync"), "sync")
    _say(f"Each change above is one commit on phenotype/{PHENOTYPE} (`sggit rollback` reverts the last); "
         "fitness sits in per-host git notes, ready for `sggit push`.")
    _section("6. A data pipeline on SQLite heals a renamed CSV column")
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
