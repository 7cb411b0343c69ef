"""`sggit check` and `sggit fmt` as a user runs them: real files, exit codes, output."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import sg, sggit


def test_check_passes_on_the_shipped_genome(project: Path) -> None:
    done = sg("check", str(project / "contracts"), str(project / "phenotypes"))
    assert done.stdout == ""
    assert done.stderr.strip() == "21 files checked"


def test_check_defaults_to_the_enclosing_project(project: Path) -> None:
    assert sg("-C", str(project / "contracts" / "genes"), "check").stderr.strip() == "21 files checked"


def test_with_no_path_the_files_are_named_from_where_check_runs(project: Path) -> None:
    """As git and the pre-commit hooks name them: `contracts/genes/...` at the top, `../...` below it."""
    bad = project / "contracts" / "genes" / "bridge_stp.sg"
    bad.write_text(bad.read_text().replace("is configuration", "is configurashun"))
    at_top = sg("-C", str(project), "check", code=1).stdout
    assert at_top.startswith("contracts/genes/bridge_stp.sg:2:6: error: unknown family `configurashun`"), at_top
    below = sg("-C", str(project / "contracts" / "pathways"), "check", code=1).stdout
    assert below.startswith("../genes/bridge_stp.sg:2:6: error:"), below
    inside = sg("-C", str(project / "contracts" / "genes"), "check", code=1).stdout
    assert inside.startswith("bridge_stp.sg:2:6: error:"), inside
    # run from any directory of the project, check checks all of it: phenotype files and seeds too
    phenotype = project / "phenotypes" / "dell_r740.toml"
    phenotype.write_text(phenotype.read_text().replace('topology = "production_server"', 'topology = "nope"'))
    seed = project / "genome" / "bridge_create" / "seed.py"
    seed.parent.mkdir(parents=True)
    seed.write_text("def execute(input_json):\n    return broken(:\n")
    for where, named in (("phenotypes", "dell_r740.toml:"), ("genome", "bridge_create/seed.py:")):
        found = sg("-C", str(project / where), "check", code=1)
        assert "unknown topology nope" in found.stdout and "seed.py:" in found.stdout, found.output
        assert named in found.stdout and f"{len(json.loads(sg('-C', str(project), 'check', '--format', 'json', code=1).stdout)['files'])} files checked" in found.stderr


def test_a_value_a_verify_loop_passes_is_checked_for_each_item_of_its_list(project: Path) -> None:
    """`for c in [0, 3]: ... count={c}` would only fail at deploy, after everything was made."""
    topology = project / "contracts" / "topologies" / "production_server.sg"
    loop = "    for vlan in [100, 200, 300]:\n      check_vlan_tagging interface=storage.{vlan}\n"
    topology.write_text(topology.read_text().replace(loop, loop + "    for c in [0, 3, 21]:\n      check_connectivity source_interface=management count={c}\n"))
    line = topology.read_text().splitlines().index("      check_connectivity source_interface=management count={c}") + 1
    out = sg("check", str(topology), code=1).stdout
    assert f"{topology}:{line}:60: error: count of check_connectivity is probecount where c is 0: a probe count must be from 1 to 20, got 0" in out
    assert "where c is 21:" in out and "where c is 3:" not in out
    topology.write_text(topology.read_text().replace("[0, 3, 21]", "[1, 3]"))
    sg("check", str(topology))


def test_a_single_file_resolves_against_its_project(project: Path) -> None:
    target = project / "contracts" / "pathways" / "provision_bond.sg"
    sg("check", str(target))
    sg("check", "--syntax-only", str(target))
    (project / "contracts" / "genes" / "bond_create.sg").unlink()
    out = sg("check", str(target), code=1).stdout
    assert f"{target}:" in out and "unknown locus bond_create" in out


def test_errors_exit_1_with_located_messages_in_text_and_json(project: Path) -> None:
    bad = project / "contracts" / "genes" / "bridge_stp.sg"
    bad.write_text(bad.read_text().replace("is configuration", "is configurashun").replace("int = 15", "int = fifteen"))
    text = sg("check", str(project / "contracts"), code=1)
    assert f"{bad}:2:6: error: unknown family `configurashun`" in text.stdout
    assert "  hint: did you mean configuration?" in text.stdout
    assert "2 errors" in text.stderr
    data = json.loads(sg("check", "--format", "json", str(project / "contracts"), code=1).stdout)
    assert data["ok"] is False and data["errors"] == 2
    assert {(d["line"], d["column"]) for d in data["diagnostics"]} == {(2, 6), (14, 26)}


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    sg("check", str(tmp_path / "missing.sg"), code=2)
    sg("check", "--format", "yaml", str(tmp_path), code=2)
    assert "no contracts/ directory" in sg("-C", str(tmp_path), "check", code=2).stderr


def test_phenotype_files_are_checked_against_their_topology(project: Path) -> None:
    pheno = project / "phenotypes" / "dell_r740.toml"
    pheno.write_text('name = "dell_r740"\ntopology = "production_server"\n\n[bindings]\nnic = ["eno1", 2]\n')
    out = sg("check", str(pheno), code=1).stdout
    assert f"{pheno}:5:1: error: bindings.nic[1]: expected string, got int" in out
    pheno.write_text('name = "dell_r740"\ntopology = "production_server"\n\n[bindings]\nnic = ["eno 1", "eno2", "a:b", "nic-with-a-long-name"]\n')
    out = sg("check", str(pheno), code=1).stdout  # the topology types its NICs `ifname`, as its pathways do
    assert f"{pheno}:5:1: error: bindings.nic[0]: interface name 'eno 1' contains ' '" in out
    assert "bindings.nic[2]: interface name 'a:b' contains ':'" in out and "bindings.nic[3]: interface name 'nic-with-a-long-name' is longer than 15 bytes" in out
    pheno.write_text('name = "dell_r740"\ntopology = "production_sever"\n')
    out = sg("check", str(pheno), code=None).stdout
    assert "unknown topology production_sever" in out and "did you mean production_server?" in out
    pheno.write_text('name = "dell_r740"\n\n[bindings]\nnic = ["a", "b", "c"]\n')
    assert "topology: Field required" in sg("check", str(pheno), code=1).stdout
    pheno.write_text('name = "dell_r740"\ntopology = [\n')
    out = sg("check", str(pheno), code=1).stdout
    assert f"{pheno}:2:" in out and "invalid TOML" in out


def test_seed_alleles_are_checked_statically(project: Path) -> None:
    seed = project / "genome" / "bridge_create" / "seed.py"
    seed.parent.mkdir(parents=True)
    seed.write_text("import json\nimport os\n\ndef run(x):\n    return x\n")
    stray = project / "genome" / "bridge_craete" / "seed.py"
    stray.parent.mkdir(parents=True)
    stray.write_text("def execute(input_json):\n    return input_json\n")
    out = sg("check", str(project / "genome"), code=1).stdout
    assert f"{seed}:2:1: error: import of os is outside the allowlist" in out
    assert "no top-level function `execute(input_json: str) -> str`" in out
    assert f"{stray}:1:1: error: genome/bridge_craete/ names no locus of this genome" in out
    assert "did you mean bridge_create?" in out


def test_fmt_check_lists_files_and_fmt_rewrites_them(project: Path) -> None:
    target = project / "contracts" / "genes" / "bridge_stp.sg"
    canonical = target.read_text()
    target.write_text(canonical.replace("  takes:\n    bridge         ifname", "  takes:\n    bridge ifname"))
    would = sg("fmt", "--check", str(project / "contracts"), code=1)
    assert would.stdout.strip() == f"would reformat {target}"
    assert "1 of 19 files would be reformatted" in would.stderr
    assert "-    bridge ifname" in sg("fmt", "--diff", str(target), code=1).stdout
    sg("fmt", str(project / "contracts"))
    assert target.read_text() == canonical
    sg("fmt", "--check", str(project / "contracts"))


def test_fmt_leaves_broken_files_alone_and_exits_1(project: Path) -> None:
    target = project / "contracts" / "genes" / "bridge_stp.sg"
    broken = target.read_text().replace("takes:", "takes")
    target.write_text(broken)
    assert "unexpected end of line" in sg("fmt", str(target), code=1).stderr
    assert target.read_text() == broken


def test_console_script_runs_without_traceback(project: Path) -> None:
    bad = project / "contracts" / "genes" / "x.sg"
    bad.write_text("gene x\n  is\n")
    proc = sggit(project, "check", str(bad), code=1)  # exit 1, and no traceback on either stream
    assert f"{bad}:2:5: error:" in proc.stdout
