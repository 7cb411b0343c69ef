"""`sggit check` and `sggit fmt` as a user runs them: real files, exit codes, output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from sggit.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check_passes_on_the_shipped_genome(project: Path) -> None:
    code, out, err = run("check", str(project / "contracts"), str(project / "phenotypes"))
    assert code == 0, out
    assert out == ""
    assert err.strip() == "21 files checked"


def test_check_defaults_to_the_enclosing_project(project: Path) -> None:
    code, _, err = run("-C", str(project / "contracts" / "genes"), "check")
    assert code == 0
    assert err.strip() == "21 files checked"


def test_a_single_file_resolves_against_its_project(project: Path) -> None:
    target = project / "contracts" / "pathways" / "provision_bond.sg"
    assert run("check", str(target))[0] == 0
    code, out, _ = run("check", "--syntax-only", str(target))
    assert code == 0
    (project / "contracts" / "genes" / "bond_create.sg").unlink()
    code, out, _ = run("check", str(target))
    assert code == 1
    assert f"{target}:" in out and "unknown locus bond_create" in out


def test_errors_exit_1_with_located_messages_in_text_and_json(project: Path) -> None:
    bad = project / "contracts" / "genes" / "bridge_stp.sg"
    bad.write_text(bad.read_text().replace("is configuration", "is configurashun").replace("int = 15", "int = fifteen"))
    code, out, err = run("check", str(project / "contracts"))
    assert code == 1
    assert f"{bad}:2:6: error: unknown family `configurashun`" in out
    assert "  hint: did you mean configuration?" in out
    assert "2 errors" in err
    code, out, _ = run("check", "--format", "json", str(project / "contracts"))
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["errors"] == 2
    assert {(d["line"], d["column"]) for d in data["diagnostics"]} == {(2, 6), (14, 26)}


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("check", str(tmp_path / "missing.sg"))[0] == 2
    assert run("check", "--format", "yaml", str(tmp_path))[0] == 2
    code, _, err = run("-C", str(tmp_path), "check")
    assert code == 2 and "no contracts/ directory" in err


def test_phenotype_files_are_checked_against_their_topology(project: Path) -> None:
    pheno = project / "phenotypes" / "dell_r740.toml"
    pheno.write_text('name = "dell_r740"\ntopology = "production_server"\n\n[bindings]\nnic = ["eno1", 2]\n')
    code, out, _ = run("check", str(pheno))
    assert code == 1
    assert f"{pheno}:5:1: error: bindings.nic[1]: expected string, got int" in out
    pheno.write_text('name = "dell_r740"\ntopology = "production_sever"\n')
    code, out, _ = run("check", str(pheno))
    assert "unknown topology production_sever" in out and "did you mean production_server?" in out
    pheno.write_text('name = "dell_r740"\n\n[bindings]\nnic = ["a", "b", "c"]\n')
    code, out, _ = run("check", str(pheno))
    assert code == 1 and "topology: Field required" in out
    pheno.write_text('name = "dell_r740"\ntopology = [\n')
    code, out, _ = run("check", str(pheno))
    assert code == 1 and f"{pheno}:2:" in out and "invalid TOML" in out


def test_seed_alleles_are_checked_statically(project: Path) -> None:
    seed = project / "genome" / "bridge_create" / "seed.py"
    seed.parent.mkdir(parents=True)
    seed.write_text("import json\nimport os\n\ndef run(x):\n    return x\n")
    stray = project / "genome" / "bridge_craete" / "seed.py"
    stray.parent.mkdir(parents=True)
    stray.write_text("def execute(input_json):\n    return input_json\n")
    code, out, _ = run("check", str(project / "genome"))
    assert code == 1
    assert f"{seed}:2:1: error: import of os is outside the allowlist" in out
    assert "no top-level function `execute(input_json: str) -> str`" in out
    assert f"{stray}:1:1: error: genome/bridge_craete/ names no locus of this genome" in out
    assert "did you mean bridge_create?" in out


def test_fmt_check_lists_files_and_fmt_rewrites_them(project: Path) -> None:
    target = project / "contracts" / "genes" / "bridge_stp.sg"
    canonical = target.read_text()
    target.write_text(canonical.replace("  takes:\n    bridge         string", "  takes:\n    bridge string"))
    code, out, err = run("fmt", "--check", str(project / "contracts"))
    assert code == 1
    assert out.strip() == f"would reformat {target}"
    assert "1 of 19 files would be reformatted" in err
    code, out, _ = run("fmt", "--diff", str(target))
    assert code == 1 and "-    bridge string" in out
    code, out, _ = run("fmt", str(project / "contracts"))
    assert code == 0 and target.read_text() == canonical
    assert run("fmt", "--check", str(project / "contracts"))[0] == 0


def test_fmt_leaves_broken_files_alone_and_exits_1(project: Path) -> None:
    target = project / "contracts" / "genes" / "bridge_stp.sg"
    broken = target.read_text().replace("takes:", "takes")
    target.write_text(broken)
    code, _, err = run("fmt", str(target))
    assert code == 1 and "unexpected end of line" in err
    assert target.read_text() == broken


def test_console_script_runs_without_traceback(project: Path) -> None:
    bad = project / "contracts" / "genes" / "x.sg"
    bad.write_text("gene x\n  is\n")
    proc = subprocess.run([sys.executable, "-m", "sggit", "check", str(bad)], check=False, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{bad}:2:5: error:" in proc.stdout
