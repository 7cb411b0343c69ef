"""A contract that does not parse is reported once, not again by every file that uses it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sggit.shipped import shipped_root
from tests.helpers import sg


def check(*paths: Path) -> tuple[int, list[dict]]:
    result = sg("check", "--format", "json", *map(str, paths), code=None)
    return result.exit_code, json.loads(result.stdout)["diagnostics"]


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_broken_gene_hides_no_error_and_adds_none(project: Path) -> None:
    shutil.copytree(shipped_root() / "genome" / "bridge_create", project / "genome" / "bridge_create")
    broken = project / "contracts" / "genes" / "bridge_create.sg"
    _break(broken, "  takes:", "  takes")
    code, diags = check(project / "contracts", project / "phenotypes", project / "genome")
    assert code == 1
    assert [(d["path"], d["message"]) for d in diags] == [(str(broken), "unexpected end of line")]


def test_a_broken_topology_adds_no_errors_to_phenotypes(project: Path) -> None:
    broken = project / "contracts" / "topologies" / "production_server.sg"
    _break(broken, "  has:", "  has")
    code, diags = check(project / "contracts", project / "phenotypes")
    assert code == 1
    assert [d["path"] for d in diags] == [str(broken)]


def test_checking_one_file_shows_the_broken_file_it_uses_and_nothing_else(project: Path) -> None:
    broken = project / "contracts" / "genes" / "bridge_create.sg"
    broken.write_text(broken.read_text().replace("  ", "\t", 1))
    target = project / "contracts" / "pathways" / "create_verified_bridge.sg"
    code, diags = check(target)
    assert code == 1
    assert {d["path"] for d in diags} == {str(broken)}
    assert all(d["message"] == "tab in indentation" for d in diags)


def test_a_file_that_is_not_utf8_adds_no_follow_on_errors(project: Path) -> None:
    broken = project / "contracts" / "genes" / "bridge_create.sg"
    broken.write_bytes(broken.read_bytes().replace(b"Create", b"Cr\xe9ate", 1))
    code, diags = check(project / "contracts")
    assert code == 1
    assert [(d["path"], d["message"].split(":")[0]) for d in diags] == [(str(broken), "not UTF-8 text")]


def test_references_to_names_nobody_defines_are_still_reported(project: Path) -> None:
    _break(project / "contracts" / "genes" / "bridge_create.sg", "  takes:", "  takes")
    pathway = project / "contracts" / "pathways" / "create_verified_bridge.sg"
    _break(pathway, "1. bridge_create", "1. bridge_creat")
    code, diags = check(project / "contracts")
    assert code == 1
    unknown = [d for d in diags if d["path"] == str(pathway)]
    assert [d["message"] for d in unknown] == ["unknown locus bridge_creat"]
