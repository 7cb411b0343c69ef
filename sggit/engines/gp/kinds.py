"""What kind of value a name holds, guessed from the parent's syntax alone.

Operators that build new code from names in scope (`idx - count`, `max(0, e)`,
`xs[i:]`, `seen.add(x)`, `level == 0`) would drown the search if they paired every
name with every other: knowing that `i` counts and `xs` is a list keeps those
edits to the ones a programmer would consider. A guess is only ever used to
choose edits, never to reject a candidate, so a wrong guess costs search time,
not correctness.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

INT, SEQ, SET, DICT, STR, BOOL = "int", "seq", "set", "dict", "str", "bool"

_INT_CALLS = frozenset({"len", "sum", "abs", "ord", "int", "round", "min", "max", "pow", "gcd"})
_SEQ_CALLS = frozenset({"list", "sorted", "reversed", "tuple"})
_INT_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift)


def expr_kind(node: ast.AST, known: dict[str, str]) -> str | None:
    """The kind an expression evaluates to, or None when the syntax does not say."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return BOOL
        if isinstance(value, int):
            return INT
        return STR if isinstance(value, str) else None
    if isinstance(node, ast.Name):
        return known.get(node.id)
    if isinstance(node, (ast.List, ast.ListComp)):
        return SEQ
    if isinstance(node, (ast.Set, ast.SetComp)):
        return SET
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return DICT
    if isinstance(node, ast.JoinedStr):
        return STR
    if isinstance(node, (ast.Compare, ast.BoolOp)) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        return BOOL
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Invert)):
        return INT if expr_kind(node.operand, known) == INT else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, _INT_OPS):
        sides = {expr_kind(node.left, known), expr_kind(node.right, known)}
        if isinstance(node.op, ast.Add) and SEQ in sides:
            return SEQ
        if isinstance(node.op, ast.Mult) and SEQ in sides:
            return SEQ
        return INT if INT in sides and sides <= {INT, None} else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name in _INT_CALLS:
            return INT
        if name in _SEQ_CALLS:
            return SEQ
        if name == "set":
            return SET
        if name == "dict":
            return DICT
        if name == "str":
            return STR
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        return expr_kind(node.value, known)
    return None


def _bind(target: ast.AST, value: ast.AST | None, known: dict[str, str]) -> None:
    if isinstance(target, ast.Name) and value is not None:
        kind = expr_kind(value, known)
        if kind is not None:
            known.setdefault(target.id, kind)
    elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) and len(target.elts) == len(value.elts):
        for t, v in zip(target.elts, value.elts, strict=False):
            _bind(t, v, known)


def _uses(fn: ast.AST, known: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(name, kind) pairs that how a name is used reveals: `range(n)`, `len(xs)`, `xs[i]`."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "range":
                yield from ((a.id, INT) for a in node.args if isinstance(a, ast.Name))
            elif node.func.id in ("len", "sorted", "enumerate", "reversed"):
                yield from ((a.id, SEQ) for a in node.args[:1] if isinstance(a, ast.Name))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if node.func.attr in ("append", "extend", "pop", "insert", "sort"):
                yield node.func.value.id, SEQ
            elif node.func.attr in ("add", "discard"):
                yield node.func.value.id, SET
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            yield node.value.id, SEQ
            if isinstance(node.slice, ast.Name):
                yield node.slice.id, INT
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(side, ast.Name) and expr_kind(other, known) == SEQ:
                    yield side.id, INT
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Sub, ast.FloorDiv, ast.Mod, ast.LShift, ast.RShift, ast.BitAnd)):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(side, ast.Name) and expr_kind(other, known) == INT:
                    yield side.id, INT
        elif isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = node.left, node.comparators[0]
            for side, other in ((left, right), (right, left)):
                if isinstance(side, ast.Name) and isinstance(node.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) and expr_kind(other, known) == INT:
                    yield side.id, INT


def function_kinds(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, str]:
    known: dict[str, str] = {}
    for _ in range(2):
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    _bind(target, node.value, known)
            elif isinstance(node, ast.AnnAssign):
                _bind(node.target, node.value, known)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                kind = expr_kind(node.value, known)
                if kind is not None:
                    known.setdefault(node.target.id, kind)
            elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Name):
                it = node.iter
                if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range":
                    known.setdefault(node.target.id, INT)
        for name, kind in _uses(fn, known):
            known.setdefault(name, kind)
    return known


def same_kind(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b


def new_conditions(names: tuple[str, ...], kinds: dict[str, str], focus: frozenset[str] = frozenset()) -> list[str]:
    """Comparisons a programmer might add over names in scope; pairs need a name from `focus`."""
    out: list[str] = []
    for name in names:
        kind = kinds.get(name)
        if kind == INT:
            out.extend((f"{name} == 0", f"{name} < 0", f"{name} > 0"))
        elif kind in (SEQ, SET, DICT, STR, BOOL):
            out.append(f"not {name}")
    numeric = (INT, None)
    for a in names:
        if a not in focus or kinds.get(a) not in numeric:
            continue
        for b in names:
            if b != a and kinds.get(b) in numeric:
                out.extend((f"{a} == {b}", f"{a} != {b}", f"{a} < {b}", f"{a} > {b}"))
    return list(dict.fromkeys(out))
