"""The AST operators: each makes the edits the issue lists, and edits replay safely."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.gp_seeded import PROGRAMS
from sggit.engines.gp.edits import (
    ALL_OPS,
    Edit,
    apply_edit,
    apply_edits,
    build_pools,
    collect_slots,
    edits_for,
    imports_of,
)

SOURCE = '''import json
LIMIT = 3


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    items = data["items"]
    total = 0
    if len(items) > LIMIT and total < 1:
        total = total + items[0]
    for item in items[1:]:
        total += item
    found = any([x > 0 for x in items])
    return json.dumps({"total": max(total, 0), "found": found})
'''


def variants(op: str, source: str = SOURCE, siblings: tuple[str, ...] = ()) -> set[str]:
    """Every function body this operator can produce from the source, one edit away."""
    tree = ast.parse(source)
    pools = build_pools(tree, list(siblings))
    slots = collect_slots(tree, pools)
    out: set[str] = set()
    for edit in edits_for(op, slots, pools):
        new, applied = apply_edits(source, [edit], pools)
        assert applied == [edit]
        out.add(ast.unparse(new))
    return out


def has_line(sources: set[str], line: str) -> bool:
    return any(line in s.splitlines() for s in (src.replace("    ", "") for src in sources))


@pytest.mark.parametrize(
    ("op", "line"),
    [
        ("cmp", "if len(items) >= LIMIT and total < 1:"),
        ("cmp", "if len(items) > LIMIT and total != 1:"),
        ("boolop", "if len(items) > LIMIT or total < 1:"),
        ("binop", "total = total - items[0]"),
        ("augop", "total -= item"),
        ("int", "total = total + items[1]"),
        ("int", "total = -1"),
        ("name", "total = items + items[0]"),
        ("name", "if len(data) > LIMIT and total < 1:"),
        ("const2var", "total = LIMIT"),
        ("negate", "if not (len(items) > LIMIT and total < 1):"),
        ("extend", "if len(items) > LIMIT and total < 1 or x > 0:"),
        ("operands", "total = items[0] + total"),
        ("args", "return json.dumps({'total': max(0, total), 'found': found})"),
        ("wrap", "for item in list(items[1:]):"),
        ("wrap", "total = len(total) + items[0]"),
        ("unwrap", "return json.dumps({'total': total, 'found': found})"),
        ("slice", "for item in items:"),
        ("slice", "for item in items[:-1][1:]:"),
        ("builtin", "found = all([x > 0 for x in items])"),
        ("builtin", "return json.dumps({'total': min(total, 0), 'found': found})"),
        ("guard", "if total < 1:"),
    ],
)
def test_each_operator_makes_its_edit(op: str, line: str) -> None:
    assert has_line(variants(op), line)


def test_index_operator_shifts_non_constant_indexes_and_range_bounds() -> None:
    source = "def execute(input_json):\n    xs = [1, 2]\n    n = len(xs)\n    for i in range(n):\n        xs[i] = xs[n - i]\n    return xs[i:n]\n"
    found = variants("index", source)
    assert has_line(found, "for i in range(n + 1):")
    assert has_line(found, "xs[i - 1] = xs[n - i]")
    assert has_line(found, "xs[i] = xs[n - i + 1]")
    assert has_line(found, "return xs[i:n - 1]")


def test_statement_operators_delete_duplicate_move_and_copy() -> None:
    body = lambda src: [ast.unparse(s) for s in ast.parse(src).body[2].body]  # noqa: E731
    original = body(SOURCE)
    deleted = [body(s) for s in variants("delete")]
    assert [x for x in original if x != "total = 0"] in deleted
    assert any(b.count("total = 0") == 2 for b in (body(s) for s in variants("dup")))
    swapped = original[:]
    swapped[1], swapped[2] = swapped[2], swapped[1]
    assert swapped in [body(s) for s in variants("swapnext")]
    moved = original[:]
    moved.insert(0, moved.pop(3))
    assert moved in [body(s) for s in variants("move")]
    far = original[:]
    far[0], far[5] = far[5], far[0]
    assert far in [body(s) for s in variants("swap")]
    inserted = [body(s) for s in variants("insert")]
    assert any(b[:2] == [original[0], "total = 0"] and b[2] == "items = data['items']" for b in inserted)


def test_splice_and_replace_take_statements_from_sibling_alleles() -> None:
    sibling = "import json\n\ndef execute(input_json):\n    total = 100\n    return json.dumps({})\n"
    spliced = variants("splice", siblings=(sibling,))
    assert any("total = 100" in s for s in spliced)
    replaced = variants("replace", siblings=(sibling,))
    assert any("total = 100" in s and "total = 0" not in s for s in replaced)
    foreign = "import os\n\ndef execute(input_json):\n    os.remove('x')\n    return '{}'\n"
    assert not variants("splice", siblings=(foreign,))


def test_no_operator_touches_imports_annotations_or_store_targets() -> None:
    for op in ALL_OPS:
        for src in variants(op):
            tree = ast.parse(src)
            assert imports_of(tree) == imports_of(ast.parse(SOURCE))
            fn = tree.body[2]
            assert isinstance(fn, ast.FunctionDef) and fn.name == "execute"
            assert ast.unparse(fn.returns) == "str" if fn.returns else True
            assert "input_json: str" in src


def test_a_stale_edit_is_a_no_op() -> None:
    tree, applied = apply_edits(SOURCE, [Edit("cmp", "body.9.test", (0, "Lt")), Edit("delete", "body.2.body.99"), Edit("boolop", "body.0")])
    assert applied == []
    assert ast.unparse(tree) == ast.unparse(ast.parse(SOURCE))


def test_edit_lists_replay_the_same_way_every_time() -> None:
    edits = [Edit("delete", "body.2.body.1"), Edit("int", "body.2.body.2.value", (1,)), Edit("name", "body.2.body.3.test.values.1.left", ("items",))]
    first, applied_first = apply_edits(SOURCE, edits)
    second, applied_second = apply_edits(SOURCE, edits)
    assert ast.unparse(first) == ast.unparse(second)
    assert applied_first == applied_second == edits
    assert "total = 1" in ast.unparse(first) and "items < 1" in ast.unparse(first)
    assert "items = data" not in ast.unparse(first)


def test_an_edit_lands_on_the_same_node_whatever_comes_before_it() -> None:
    """Addresses are parent paths: dropping or adding an earlier edit never moves a later one."""
    target = Edit("int", "body.2.body.2.value", (1,))
    alone, _ = apply_edits(SOURCE, [target])
    for before in (Edit("delete", "body.2.body.0"), Edit("dup", "body.2.body.1"), Edit("swapnext", "body.2.body.1")):
        tree, applied = apply_edits(SOURCE, [before, target])
        assert applied == [before, target]
        assert "total = 1" in ast.unparse(tree) and "total = 1" in ast.unparse(alone)
        assert "total = 0" not in ast.unparse(tree)


def test_an_edit_on_a_node_another_edit_created_needs_its_creator() -> None:
    dup = Edit("dup", "body.2.body.2")
    tree, _ = apply_edits(SOURCE, [dup])
    created = [s for s in collect_slots(tree).exprs
               if s.path and s.path.startswith("body.2.body.2+dup") and isinstance(s.node, ast.Constant)]
    assert created, "the copy's nodes get paths derived from the edit that made them"
    follow = Edit("int", created[0].path, (1,))
    both, applied = apply_edits(SOURCE, [dup, follow])
    assert applied == [dup, follow] and "total = 1" in ast.unparse(both) and "total = 0" in ast.unparse(both)
    alone, applied_alone = apply_edits(SOURCE, [follow])
    assert applied_alone == [] and ast.unparse(alone) == ast.unparse(ast.parse(SOURCE))


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.locus)
def test_the_neighbourhood_of_every_corpus_allele_unparses(program) -> None:  # noqa: ANN001
    tree = ast.parse(program.source)
    pools = build_pools(tree, [])
    slots = collect_slots(tree, pools)
    edits = [e for op in ALL_OPS for e in edits_for(op, slots, pools)]
    assert len(edits) > 100
    for edit in edits:
        new, applied = apply_edits(program.source, [edit], pools)
        assert applied == [edit], edit
        ast.parse(ast.unparse(new))


@settings(max_examples=60, deadline=None)
@given(program=st.sampled_from(PROGRAMS), picks=st.lists(st.tuples(st.integers(0, len(ALL_OPS) - 1), st.integers(0, 10_000)), min_size=1, max_size=4))
def test_any_stack_of_edits_unparses_and_replays_identically(program, picks) -> None:  # noqa: ANN001
    pools = build_pools(ast.parse(program.source), [])
    tree = ast.parse(program.source)
    chosen: list[Edit] = []
    for op_index, k in picks:
        options = edits_for(ALL_OPS[op_index], collect_slots(tree, pools), pools)
        if options:
            edit = options[k % len(options)]
            assert apply_edit(tree, edit, pools)
            chosen.append(edit)
    built = ast.unparse(tree)
    ast.parse(built)
    replayed, applied = apply_edits(program.source, chosen, pools)
    assert applied == chosen
    assert ast.unparse(replayed) == built
