"""The parser loads from a cache file in the user's cache directory, and rebuilds it when it must."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lark
import pytest

from sggit.contract import parser_cache
from sggit.shipped import shipped_root

REPO = Path(__file__).resolve().parents[2]

# Parses the shipped genome in a fresh interpreter, as a command would.
_PARSE = """
import json, sys
from sggit.contract import parser
from sggit.contract.parser_cache import loaded_from_cache
from sggit.contract.tree import sg_files
docs = [parser.parse_text(p.read_text(), str(p)).semantic() for p in sg_files([sys.argv[1]])]
print(json.dumps({"cached": loaded_from_cache(parser._parser()), "ast": docs}))
"""


def _parse_in_new_process(cache: Path) -> dict:
    env = {**os.environ, parser_cache.CACHE_ENV: str(cache)}
    out = subprocess.run([sys.executable, "-c", _PARSE, str(shipped_root() / "contracts")], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_second_start_loads_the_parser_from_the_cache_and_parses_the_same(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _parse_in_new_process(cache)
    files = sorted(p.name for p in cache.iterdir())
    assert not first["cached"]
    assert len(files) == 1 and files[0].startswith("contract-parser-") and files[0].endswith(".lark")
    second = _parse_in_new_process(cache)
    assert second["cached"]
    assert second["ast"] == first["ast"]
    assert sorted(p.name for p in cache.iterdir()) == files


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    built = _parse_in_new_process(cache)
    (path,) = cache.iterdir()
    header = path.read_bytes().split(b"\n", 1)[0]
    path.write_bytes(header + b"\nnot a pickle")
    rebuilt = _parse_in_new_process(cache)
    assert not rebuilt["cached"] and rebuilt["ast"] == built["ast"]
    assert _parse_in_new_process(cache)["cached"]


def test_an_unwritable_cache_only_costs_the_build(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    result = _parse_in_new_process(blocker / "cache")
    assert not result["cached"] and result["ast"]
    assert blocker.read_text() == "in the way"


def test_the_cache_file_changes_with_grammar_options_and_lark_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(parser_cache.CACHE_ENV, str(tmp_path))
    options = {"parser": "lalr"}
    base = parser_cache.cache_path("start: NAME", options)
    assert base is not None and base.parent == tmp_path
    assert parser_cache.cache_path("start: NAME ", options) != base
    assert parser_cache.cache_path("start: NAME", {"parser": "lalr", "lexer": "basic"}) != base
    monkeypatch.setattr(lark, "__version__", "0.0.1")
    assert parser_cache.cache_path("start: NAME", options) != base


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(parser_cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert parser_cache.cache_dir() == tmp_path / "sggit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert parser_cache.cache_dir() == tmp_path / "home" / ".cache" / "sggit"


def test_the_ast_validators_and_checks_import_without_lark() -> None:
    code = "import sys, sggit.contract, sggit.contract.tree, sggit.contract.checks, sggit.contract.fmt, sggit.contract.validate; print('lark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
