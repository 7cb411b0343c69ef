"""Each operator added for one-line bugs repairs a planted bug of its own kind.

Every case is a correct program, a one-line bug, and examples that catch it. The
test checks that the operator offers exactly the fix, and that the engine, given
the whole operator set, repairs the bug with that operator and generalises to
inputs the examples never showed.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

import pytest

from sggit.engines.base import Case, ContractBrief, MutationContext
from sggit.engines.gp import GPEngine, ProcessEvaluator
from sggit.engines.gp.edits import apply_edits, build_pools, collect_slots, edits_for


@dataclass(frozen=True)
class Planted:
    op: str
    body: str
    call: str
    old: str
    new: str
    examples: tuple[dict[str, Any], ...]
    held_out: tuple[dict[str, Any], ...]
    fixed: str | None = None  # the repaired text, when it is not the original's

    @property
    def source(self) -> str:
        return (f"import json\n\n\n{self.body.strip()}\n\n\ndef execute(input_json: str) -> str:\n"
                f"    data = json.loads(input_json)\n    return json.dumps({{'result': {self.call}}})\n")

    @property
    def buggy(self) -> str:
        assert self.source.count(self.old) == 1
        return self.source.replace(self.old, self.new)

    def cases(self, inputs: tuple[dict[str, Any], ...]) -> list[Case]:
        namespace: dict[str, Any] = {}
        exec(compile(self.source, "<reference>", "exec"), namespace)
        return [Case(input=i, expected=json.loads(namespace["execute"](json.dumps(i)))) for i in inputs]


PLANTED = [
    Planted("index", '''
def tail_sum(xs, start):
    return sum(xs[start:])


def after(xs, k):
    return tail_sum(xs, k + 1)
''', "after(data['xs'], data['k'])", "return tail_sum(xs, k + 1)", "return tail_sum(xs, k)",
        ({"xs": [1, 2, 3], "k": 0}, {"xs": [1, 2, 3], "k": 1}, {"xs": [5], "k": 0}, {"xs": [4, 4, 1, 2], "k": 2}),
        ({"xs": [9, 8, 7, 6], "k": 1}, {"xs": [], "k": 0}, {"xs": [3, 1], "k": 5})),
    Planted("index", '''
def diagonal_step(rows):
    grid = {(r, c): v for r, row in enumerate(rows) for c, v in enumerate(row)}
    out = []
    for r in range(1, len(rows)):
        for c in range(1, len(rows[r])):
            out.append(grid[r - 1, c - 1])
    return out
''', "diagonal_step(data['rows'])", "out.append(grid[r - 1, c - 1])", "out.append(grid[r - 1, c])",
        ({"rows": [[1, 2], [3, 4]]}, {"rows": [[1, 2, 3], [4, 5, 6]]}, {"rows": [[7]]}),
        ({"rows": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]}, {"rows": [[5, 6], [7, 8], [9, 10]]})),
    Planted("namearith", '''
def back_from(xs, idx, count):
    return xs[idx - count]
''', "back_from(data['xs'], data['idx'], data['count'])", "return xs[idx - count]", "return xs[idx]",
        ({"xs": [1, 2, 3], "idx": 2, "count": 1}, {"xs": [1, 2, 3], "idx": 2, "count": 2}, {"xs": [4, 5, 6], "idx": 1, "count": 1}),
        ({"xs": [9, 8, 7, 6], "idx": 3, "count": 2}, {"xs": [3, 4], "idx": 1, "count": 0})),
    Planted("cmpconst", '''
def closed(s):
    level = 0
    for ch in s:
        level += 1 if ch == "[" else -1
    return level == 0
''', "closed(data['s'])", "    return level == 0\n", "    return True\n",
        ({"s": ""}, {"s": "[]"}, {"s": "[["}, {"s": "[[]"}), ({"s": "[][]"}, {"s": "["}, {"s": "[[]]]"})),
    Planted("wrap2", '''
def remaining(stock, taken):
    e = stock - taken
    return max(0, e)
''', "remaining(data['stock'], data['taken'])", "return max(0, e)", "return e",
        ({"stock": 5, "taken": 3}, {"stock": 2, "taken": 4}, {"stock": 1, "taken": 1}),
        ({"stock": 0, "taken": 9}, {"stock": 10, "taken": 2})),
    Planted("binop", '''
def differing_bits(a, b):
    return bin(a ^ b).count("1")
''', "differing_bits(data['a'], data['b'])", "bin(a ^ b)", "bin(a & b)",
        ({"a": 0, "b": 0}, {"a": 5, "b": 3}, {"a": 8, "b": 8}, {"a": 1, "b": 6}), ({"a": 255, "b": 0}, {"a": 12, "b": 10})),
    Planted("augop", '''
def parity(xs):
    acc = 0
    for x in xs:
        acc ^= x
    return acc & 1
''', "parity(data['xs'])", "acc ^= x", "acc &= x",
        ({"xs": []}, {"xs": [1]}, {"xs": [1, 1]}, {"xs": [3, 2]}), ({"xs": [1, 2, 3, 4]}, {"xs": [7, 7, 7]})),
    Planted("slice", '''
def from_first(items, target):
    i = items.index(target) if target in items else len(items)
    return items[i:]
''', "from_first(data['items'], data['target'])", "return items[i:]", "return items",
        ({"items": [1, 2, 3], "target": 2}, {"items": [1, 2], "target": 9}, {"items": [4, 5], "target": 4}),
        ({"items": [7, 8, 9, 7], "target": 9}, {"items": [], "target": 1})),
    Planted("extend", '''
def ways(options, n):
    if n == 0:
        return 1
    if n < 0 or not options:
        return 0
    return ways(options, n - options[0]) + ways(options[1:], n)
''', "ways(data['options'], data['n'])", "    if n < 0 or not options:", "    if n < 0:",
        ({"options": [], "n": 0}, {"options": [1], "n": 2}, {"options": [1, 2], "n": 3}, {"options": [3], "n": 2}),
        ({"options": [2, 3], "n": 7}, {"options": [5, 1], "n": 6})),
    Planted("concat", '''
def framed(rows):
    head = ["start"]
    body = [r * 2 for r in rows]
    return head + body
''', "framed(data['rows'])", "return head + body", "return body",
        ({"rows": []}, {"rows": [1, 2]}), ({"rows": [5]}, {"rows": [0, 0, 3]})),
    Planted("listwrap", '''
def powerset(xs):
    result = [[]]
    for x in xs:
        result = result + [s + [x] for s in result]
    return result
''', "powerset(data['xs'])", "    result = [[]]\n", "    result = []\n",
        ({"xs": []}, {"xs": [1]}, {"xs": [1, 2]}), ({"xs": [3, 4, 5]},)),
    Planted("loopstmt", '''
def squares(xs):
    result = []
    for item in xs:
        value = item * item
        result.append(value)
    return result
''', "squares(data['xs'])", "        result.append(value)\n", "",
        ({"xs": []}, {"xs": [2]}, {"xs": [1, 3]}), ({"xs": [4, 5, 6]}, {"xs": [-2]})),
    Planted("rename", '''
def weighted(xs, ws):
    total = 0
    for i in range(min(len(xs), len(ws))):
        total += xs[i] * ws[i]
    return total
''', "weighted(data['xs'], data['ws'])", "    for i in range(min(len(xs), len(ws))):", "    for j in range(min(len(xs), len(ws))):",
        ({"xs": [], "ws": []}, {"xs": [1, 2], "ws": [3, 4]}, {"xs": [2], "ws": [5, 6]}),
        ({"xs": [1, 2, 3], "ws": [1, 0, 2]}, {"xs": [-1], "ws": [4]}),
        fixed="import json\n\ndef weighted(xs, ws):\n    total = 0\n    for j in range(min(len(xs), len(ws))):\n"
              "        total += xs[j] * ws[j]\n    return total\n\ndef execute(input_json: str) -> str:\n"
              "    data = json.loads(input_json)\n    return json.dumps({'result': weighted(data['xs'], data['ws'])})\n"),
]


def context(planted: Planted) -> MutationContext:
    examples = [{"input": c.input, "output": c.expected} for c in planted.cases(planted.examples)]
    return MutationContext(contract=ContractBrief(locus=planted.op, examples=examples), parent_source=planted.buggy)


@pytest.mark.parametrize("planted", PLANTED, ids=[f"{p.op}-{p.call.split('(')[0]}" for p in PLANTED])
def test_the_operator_offers_exactly_the_fix(planted: Planted) -> None:
    tree = ast.parse(planted.buggy)
    pools = build_pools(tree, [])
    want = ast.unparse(ast.parse(planted.fixed or planted.source))
    made = {ast.unparse(apply_edits(planted.buggy, [e], pools)[0]) for e in edits_for(planted.op, collect_slots(tree, pools), pools)}
    assert want in made


@pytest.mark.parametrize("planted", PLANTED, ids=[f"{p.op}-{p.call.split('(')[0]}" for p in PLANTED])
def test_the_engine_repairs_the_planted_bug_with_that_operator(evaluator: ProcessEvaluator, planted: Planted) -> None:
    [proposal] = GPEngine(evaluator, seed=1, max_candidates=1500, max_seconds=120).propose(context(planted), 1)
    assert (proposal.note or "").startswith(f"gp seed=1 edits: {planted.op}@"), proposal.note
    [held] = evaluator.evaluate([proposal.source], planted.cases(planted.held_out))
    assert held.passed == held.total, held.errors
