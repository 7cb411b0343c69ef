"""Contract text no parser should choke on: every limit is a located error, never an unexpected one (exit 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sggit.genome.init import init_project
from tests.helpers import sg, sg_in

GENE = Path("contracts") / "genes" / "bridge_create.sg"
FIRST_OUTPUT = '-> {"success": true, "changed": true, "resources_created": ["br-example"]}'


@pytest.fixture
def genome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised network genome, so `test` and `run` meet the contracts as `check` does."""
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    root = tmp_path / "genome"
    init_project(root)
    return root


def _edit(root: Path, old: str, new: str) -> tuple[int, int]:
    """Replace `old` in bridge_create.sg; the (line, column) where `new` starts."""
    path = root / GENE
    text = path.read_text()
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old):])
    line = text.count("\n", 0, at) + 1
    return line, at - text.rfind("\n", 0, at)


def _diagnostics(root: Path) -> list[dict]:
    result = sg("check", "--format", "json", str(root / "contracts"), code=1)
    return json.loads(result.stdout)["diagnostics"]


def _every_command_refuses(root: Path, message: str) -> None:
    """`check` exits 1 and `test`/`run` exit non-zero with the same located message, none with exit 3."""
    for args in (["test", "bridge_create"], ["run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}']):
        result = sg_in(root, *args, code=None)
        assert result.exit_code not in (0, 3), result.output
        assert message in result.output


def test_an_integer_too_long_for_python_is_located(genome: Path) -> None:
    digits = "9" * 4400
    line, column = _edit(genome, FIRST_OUTPUT, f'-> {{"success": true, "x": {digits}}}')
    diags = _diagnostics(genome)
    at = column + len('-> {"success": true, "x": ')
    assert [(d["line"], d["column"], d["message"]) for d in diags] == [(line, at, "example output: an integer of 4400 digits; at most 4300 are accepted")]
    _every_command_refuses(genome, f"bridge_create.sg:{line}:{at}: error: example output: an integer of 4400 digits")


def test_an_integer_too_long_is_located_outside_json_too(project: Path) -> None:
    _edit(project, "interfaces   ifname[]", f"interfaces   ifname[{'1' * 5000}..]")
    diags = _diagnostics(project)
    assert [d["message"] for d in diags] == ["an integer of 5000 digits; at most 4300 are accepted"]


def test_a_deeply_nested_example_value_has_the_input_limit(genome: Path) -> None:
    line, column = _edit(genome, FIRST_OUTPUT, '-> {"success": true, "changed": ' + "[" * 1000 + "]" * 1000 + "}")
    diags = _diagnostics(genome)
    at = column + len('-> {"success": true, "changed": ') + 199  # the 201st level: the object is the first
    assert [(d["line"], d["column"], d["message"]) for d in diags] == [(line, at, "example output: JSON nested 1001 levels deep; at most 200 are accepted")]
    _every_command_refuses(genome, "JSON nested 1001 levels deep; at most 200 are accepted")


def test_a_value_between_the_limit_and_pythons_recursion_is_refused_too(project: Path) -> None:
    _edit(project, FIRST_OUTPUT, '-> {"changed": ' + "[" * 300 + "]" * 300 + "}")
    assert [d["message"] for d in _diagnostics(project)] == ["example output: JSON nested 301 levels deep; at most 200 are accepted"]


@pytest.mark.parametrize("literal", ["NaN", "-Infinity", "1e999"])
def test_example_values_are_strict_json(project: Path, literal: str) -> None:
    line, column = _edit(project, FIRST_OUTPUT, f'-> {{"success": true, "x": {literal}}}')
    (diag,) = _diagnostics(project)
    assert (diag["line"], diag["column"]) == (line, column + len('-> {"success": true, "x": '))
    assert diag["message"].startswith("example output")


def test_a_type_nested_too_deep_is_located(genome: Path) -> None:
    line, column = _edit(genome, "interfaces   ifname[]", "interfaces   ifname" + "[]" * 1000)
    diags = _diagnostics(genome)
    at = column + len("interfaces   ")
    assert [(d["line"], d["column"], d["message"]) for d in diags] == [(line, at, "type ifname nests 1000 levels deep; at most 32 are accepted")]
    _every_command_refuses(genome, "type ifname nests 1000 levels deep")


def test_a_type_at_the_limit_is_accepted(project: Path) -> None:
    _edit(project, "interfaces   ifname[]", "interfaces   ifname" + "[]" * 32)
    assert not [d for d in json.loads(sg("check", "--format", "json", str(project / "contracts"), code=None).stdout)["diagnostics"] if "nests" in d["message"]]


@pytest.mark.parametrize("window", ["8760000h", "99999999999999999999h", "61m", "3600001ms"])
def test_a_window_longer_than_an_hour_is_refused(project: Path, window: str) -> None:
    line, column = _edit(project, "within 30s", f"within {window}")
    diags = _diagnostics(project)
    assert [(d["line"], d["column"], d["message"]) for d in diags] == [(line, column + len("within "), f"window {window} is longer than 1h, the longest accepted")]


def test_a_topology_window_has_the_same_bound(project: Path) -> None:
    path = project / "contracts" / "topologies" / "production_server.sg"
    path.write_text(path.read_text().replace("all within 60s", "all within 2h"))
    diags = _diagnostics(project)
    assert [(Path(d["path"]).name, d["message"]) for d in diags] == [("production_server.sg", "window 2h is longer than 1h, the longest accepted")]


def test_an_hour_is_accepted(project: Path) -> None:
    _edit(project, "within 30s", "within 1h")
    sg("check", str(project / "contracts"))


def test_virtual_time_passes_at_once_however_long(genome: Path) -> None:
    """`watch --every` moves the mock's clock by any amount in one go (it stepped an hour a call)."""
    sg_in(genome, "run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}', "--no-wait")
    done = subprocess.run([sys.executable, "-m", "sggit", "-C", str(genome), "watch", "bridge_create", "--phenotype", "dell_r740",
                           "--every", "100000000d", "--count", "2", "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rounds = json.loads(done.stdout)
    rows = rounds["rounds"] if isinstance(rounds, dict) else rounds
    assert rows[1]["clock"] - rows[0]["clock"] == pytest.approx(100000000 * 86400)


def test_an_invalid_utf8_byte_is_reported_where_it_is(project: Path) -> None:
    path = project / GENE
    lines = path.read_bytes().split(b"\n")
    lines[50] = lines[50][:10] + b"\xff" + lines[50][10:]
    path.write_bytes(b"\n".join(lines))
    (diag,) = _diagnostics(project)
    assert (diag["line"], diag["column"], diag["message"]) == (51, 11, "not UTF-8 text: byte 0xff (invalid start byte)")


def test_a_byte_order_mark_is_skipped(project: Path) -> None:
    path = project / GENE
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    sg("check", str(project / "contracts"))
    _edit(project, "  takes:", "  takes")
    (diag,) = _diagnostics(project)
    assert "\ufeff" not in diag["message"] and diag["message"] == "unexpected end of line"


@pytest.mark.parametrize(("value", "path", "shown"), [
    ({"temperature": "NaN"}, "defaults.temperature", "NaN"),
    ({"temperature": [1, "-Infinity"]}, "defaults.temperature[1]", "-Infinity"),
])
def test_input_json_values_are_strict_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: dict, path: str, shown: str) -> None:
    """A json value holding NaN is the caller's error, at its path, before any allele runs (and is charged)."""
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    root = tmp_path / "data"
    sg_in(tmp_path, "init", str(root), "--domain", "data")
    text = json.dumps({"table": "readings_raw", "defaults": value}).replace(f'"{shown}"', shown)
    before = sg_in(root, "status").output
    result = sg_in(root, "run", "clean_records", "--input", text, code=2)
    assert f"invalid input for clean_records: {path}: {shown} is not JSON: a number must be finite" in result.output
    assert sg_in(root, "status").output == before
