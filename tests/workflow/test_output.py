"""What people read: current status before a sync, all three timescales, the gene's words kept apart, formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import sggit
from tests.workflow.helpers import INPUT, PATHWAY, PHENOTYPE, sggit_json


def _dominant(root: Path, locus: str) -> str:
    st = sggit_json(root, "status", "--phenotype", PHENOTYPE)
    return next(r["dominant"] for r in st["phenotypes"][0]["loci"] if r["locus"] == locus)


def test_status_and_show_count_unsynced_runs_and_show_convergence(genome_project: Path) -> None:
    sggit(genome_project, "run", PATHWAY, "--phenotype", PHENOTYPE, "--input", json.dumps(INPUT))
    st = sggit_json(genome_project, "status", "--phenotype", PHENOTYPE)
    rows = {r["locus"]: r for r in st["phenotypes"][0]["loci"]}
    assert rows["bridge_create"]["invocations"] == 1, "the journal counts before `sggit sync`"
    text = sggit(genome_project, "status", "--phenotype", PHENOTYPE).stdout
    assert "counts include records waiting in the journal" in text
    dominant = _dominant(genome_project, "bridge_create")[:12]
    shown = sggit(genome_project, "show", dominant).stdout
    total = next(line for line in shown.splitlines() if line.startswith("  fitness total: "))
    assert "(immediate 1/1 ok, convergence " in total and total.endswith(" on 1 host(s)")
    assert "fitness on testhost" not in shown, "per-host lines only with --hosts"
    assert "fitness on testhost: immediate 1/1 ok, convergence " in sggit(genome_project, "show", dominant, "--hosts").stdout
    why = sggit(genome_project, "why", _dominant(genome_project, "bridge_create")[:12]).stdout
    assert "It has 1 success in 1 invocation across 1 host, fitness" in why


def test_a_genes_failure_text_is_labelled_and_kept_apart(genome_project: Path) -> None:
    data = json.dumps({"bridge_name": "eno2", "interfaces": []})  # a NIC of that name: a bridge cannot be made there
    failed = sggit(genome_project, "run", "bridge_create", "--phenotype", PHENOTYPE, "--input", data, code=None)
    assert failed.returncode == 1
    result = json.loads(failed.stdout)
    assert list(result["gene_said"].values()) == ["eno2 exists and is not a bridge"]
    text = sggit(genome_project, "run", "bridge_create", "--phenotype", PHENOTYPE, "--input", data, "--format", "text", code=None).stdout
    assert 'failed (gene reported failure, gene said "eno2 exists and is not a bridge")' in text
    assert "bad_output" not in text


def test_watch_and_verify_take_format_json_and_keep_the_old_flag(genome_project: Path) -> None:
    sggit(genome_project, "run", PATHWAY, "--phenotype", PHENOTYPE, "--input", json.dumps(INPUT), "--no-wait")
    verified = sggit_json(genome_project, "verify", "--due", "--phenotype", PHENOTYPE)
    assert verified["checks"] and {c["status"] for c in verified["checks"]} <= {"healthy", "unhealthy", "due"}
    watched = sggit_json(genome_project, "watch", PATHWAY, "--phenotype", PHENOTYPE)
    assert watched["rounds"][0]["target"] == PATHWAY and watched["rounds"][0]["healthy"] is True
    old = json.loads(sggit(genome_project, "watch", PATHWAY, "--phenotype", PHENOTYPE, "--json").stdout)
    assert old["rounds"][0]["target"] == PATHWAY
    assert "--json" not in sggit(genome_project, "watch", "--help").stdout


def test_bash_completion_completes_subcommands(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    script = 'eval "$(sggit completion bash)"; COMP_WORDS=(sggit ci ch); COMP_CWORD=2; _sggit_completion sggit; echo "${COMPREPLY[@]}"'
    done = subprocess.run(["bash", "-c", script], env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["check"]
    for shell in ("zsh", "fish"):
        assert "_SGGIT_COMPLETE" in sggit(tmp_path, "completion", shell).stdout


def test_progress_is_on_stderr_only_when_asked_off_a_terminal(genome_project: Path, tmp_path: Path) -> None:
    bare = tmp_path / "fleet.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    quiet = sggit(genome_project, "push", str(bare))
    assert "sggit: pushing" not in quiet.stderr
    loud = sggit(genome_project, "--progress", "pull", str(bare))
    assert f"sggit: pulling from {bare} ..." in loud.stderr and f"sggit: pulling from {bare}: done" in loud.stderr
    assert "sggit:" not in loud.stdout


def test_colour_on_a_terminal_and_none_under_no_color(tmp_path: Path) -> None:
    import pty

    def doctor(extra: dict[str, str]) -> bytes:
        leader, follower = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | extra
        proc = subprocess.Popen([sys.executable, "-m", "sggit", "doctor"], stdout=follower, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.wait()
        os.close(leader)
        return b"".join(chunks)

    assert b"\x1b[32m" in doctor({})
    assert b"\x1b[" not in doctor({"NO_COLOR": "1"})


def test_steps_that_did_not_run_say_so_once(genome_project: Path) -> None:
    blocked = {**INPUT, "management_bridge": "eno2"}  # step 1 cannot make a bridge where a NIC has the name
    again = sggit(genome_project, "run", PATHWAY, "--phenotype", PHENOTYPE, "--input", json.dumps(blocked), "--format", "text", code=None)
    assert again.returncode == 1
    assert "  step 2 bridge_uplink: not run - the pathway stopped at a failure" in again.stdout
    assert "not run - not run" not in again.stdout
