"""Random and mutated contracts never produce a traceback, only located diagnostics."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sggit.contract.checks import check_tree
from sggit.contract.parser import parse_collect
from sggit.contract.tree import ContractTree, sg_files
from sggit.shipped import shipped_root
from tests.helpers import sg

SHIPPED = [p.read_text() for p in sg_files([shipped_root() / "contracts"])]
ALPHABET = " \n\t:#{}[]()\"'=->.,0123456789abcdefghijklmnopqrstuvwxyz_?éλ\\"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SHIPPED))
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "dup", "swap", "indent", "truncate"]))
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete":
            line = lines[i]
            a = draw(st.integers(0, len(line)))
            b = draw(st.integers(a, len(line)))
            lines[i] = line[:a] + line[b:]
        elif op == "insert":
            line = lines[i]
            a = draw(st.integers(0, len(line)))
            lines[i] = line[:a] + draw(st.text(alphabet=ALPHABET, max_size=6)) + line[a:]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 9)) + lines[i].lstrip(" ")
        else:
            lines = lines[:i]
    return "".join(lines)


def _check_text(text: str) -> list:
    _doc, diags = parse_collect(text, "fuzz.sg")
    assert all(d.line >= 1 and d.column >= 1 for d in diags)
    tree = ContractTree()
    tree.add_text(text, "fuzz.sg")
    for shipped in SHIPPED[:3]:
        tree.add_text(shipped, "shipped.sg")
    return diags + check_tree(tree)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_contracts_give_diagnostics_not_exceptions(text: str) -> None:
    for d in _check_text(text):
        assert d.render().startswith("fuzz.sg:") or d.render().startswith("shipped.sg:")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=120))
def test_random_text_gives_diagnostics_not_exceptions(text: str) -> None:
    _check_text(text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(mutated())
def test_cli_never_shows_a_traceback(tmp_path_factory, text: str) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    path = Path(root) / "fuzz.sg"
    path.write_text(text)
    for args in (["check", str(path)], ["fmt", "--check", str(path)]):
        result = sg(*args, code=None)  # it never crashes and never prints a traceback
        assert result.exit_code in (0, 1), result.output


def test_unclosed_bracket_is_reported_where_it_opens() -> None:
    doc, diags = parse_collect("gene g\n  takes:\n    x string[\n", "p.sg")
    assert doc.definitions == []
    assert [(d.line, d.column, d.message) for d in diags] == [(3, 13, "`[` is never closed")]
