"""AST edits: the genes of a patch.

A patch is a list of `Edit`s replayed on a fresh parse of the parent. An edit names
its operator, a site and an argument whose payloads are source text. The site is
the node's path in the *parent's* tree (`body.1.body.0.test`), stamped on each
node when the parent is parsed and carried by the node through every edit, so an
edit always lands on the node it was judged on, whatever edits before it inserted,
moved or deleted. A node an edit creates gets a path derived from that edit
(`<site>+<op>.<n>`), so a follow-up edit on it applies only while its creator does.
An edit whose node is gone, or whose argument no longer fits, is a no-op.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sggit.engines.gp.kinds import BOOL, INT, SEQ, SET, expr_kind, function_kinds, new_conditions, same_kind

# Within a tier, operators are tried in this order (each one's edits shuffled): the
# kinds of slip programmers make most often first.
EXPR_OPS_TIER1 = ("cmp", "negate", "boolop", "int", "index", "binop", "name", "builtin", "operands", "args")
EXPR_OPS_TIER2 = (
    "const2var", "extend", "slice", "namearith", "wrap2", "concat", "listwrap", "cmpconst", "rename", "wrap", "unwrap",
)
STMT_OPS_TIER1 = ("augop",)
STMT_OPS_TIER2 = ("loopstmt", "delete", "dup", "swapnext")
STMT_OPS_TIER3 = ("move", "swap", "insert", "guard", "splice", "replace")

TIERS: tuple[tuple[str, ...], ...] = (
    EXPR_OPS_TIER1 + STMT_OPS_TIER1,
    EXPR_OPS_TIER2 + STMT_OPS_TIER2,
    STMT_OPS_TIER3,
)
ALL_OPS: tuple[str, ...] = tuple(op for tier in TIERS for op in tier)
EXPR_OPS = frozenset(EXPR_OPS_TIER1 + EXPR_OPS_TIER2)
PAYLOAD_OPS = frozenset({"insert", "splice", "replace"})


@dataclass(frozen=True)
class Edit:
    op: str
    site: str
    arg: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.op}@{self.site}{list(self.arg) if self.arg else ''}"


_CMP_GROUPS: tuple[tuple[type[ast.cmpop], ...], ...] = (
    (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq),
    (ast.Is, ast.IsNot, ast.Eq, ast.NotEq),
    (ast.In, ast.NotIn),
)
_ARITH: tuple[type[ast.operator], ...] = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Div, ast.Mod)
_BITS: tuple[type[ast.operator], ...] = (ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift)
_NAME_TO_OP: dict[str, type] = {cls.__name__: cls for cls in (*{c for g in _CMP_GROUPS for c in g}, *_ARITH, *_BITS)}
_BUILTIN_SWAPS = {"any": "all", "all": "any", "min": "max", "max": "min"}
_WRAPPERS = ("len", "list", "max", "min", "reversed", "sorted")
_SLICES = ("1:", ":-1")
_LOAD_KINDS = (ast.Name, ast.Call, ast.Subscript, ast.Attribute)
_PATH = "_gp_path"


def _alternatives(op: ast.operator) -> tuple[type[ast.operator], ...]:
    for group in (_ARITH, _BITS):
        if type(op) in group:
            return tuple(alt for alt in group if alt is not type(op))
    return ()


@dataclass(slots=True)
class Slot:
    """Where a node hangs: replacing it is `setattr(owner, field, new)` or a list store."""

    owner: ast.AST
    field: str
    index: int | None
    node: Any
    scope: tuple[str, ...] = ()
    condition: bool = False
    kinds: dict[str, str] = dataclasses.field(default_factory=dict)
    fn: ast.AST | None = None
    loop: tuple[str, ...] | None = None

    @property
    def path(self) -> str | None:
        return getattr(self.node, _PATH, None)

    def replace(self, new: Any) -> None:
        if self.index is None:
            setattr(self.owner, self.field, new)
        else:
            getattr(self.owner, self.field)[self.index] = new


@dataclass
class Pools:
    """Material an edit may copy in: computed once from the parent and its siblings."""

    conditions: tuple[str, ...] = ()
    statements: tuple[str, ...] = ()
    sibling_statements: tuple[str, ...] = ()
    imports: frozenset[str] = frozenset()
    module_names: tuple[str, ...] = ()
    scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    kinds: dict[str, dict[str, str]] = field(default_factory=dict)
    module_bound: frozenset[str] = frozenset()


@dataclass
class Slots:
    exprs: list[Slot] = field(default_factory=list)
    stmts: list[Slot] = field(default_factory=list)

    def find(self, op: str, site: str) -> Slot | None:
        for slot in self.exprs if op in EXPR_OPS else self.stmts:
            if slot.path == site:
                return slot
        return None


def _function_scope(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, module_names: tuple[str, ...]) -> tuple[str, ...]:
    names: list[str] = []
    args = fn.args
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if a is not None:
            names.append(a.arg)
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
    return tuple(dict.fromkeys((*names, *module_names)))


_LEAVES = (
    ast.Import, ast.ImportFrom, ast.Name, ast.Constant,
    ast.expr_context, ast.operator, ast.cmpop, ast.boolop, ast.unaryop,
)
_SKIP_FIELDS = {"ctx", "op", "ops", "annotation", "returns", "decorator_list", "type_comment", "type_params"}


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(f for f in cls._fields if f not in _SKIP_FIELDS)  # type: ignore[attr-defined]
    return found


def _loop_names(loop: ast.For | ast.While) -> tuple[str, ...]:
    """Values a loop produces: its target and what its body binds."""
    names: list[str] = []
    if isinstance(loop, ast.For):
        names.extend(n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name))
    for stmt in loop.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.append(node.id)
    return tuple(dict.fromkeys(names))


def collect_slots(tree: ast.Module, pools: Pools | None = None) -> Slots:
    """Every expression slot and statement slot inside functions, in a stable order.

    A tree seen for the first time (a fresh parse of the parent) has each node
    marked with its path, so paths always name the parent's nodes; later calls on
    the same tree only read the marks. Names in scope come from
    the parent (`pools.scopes`) when known: edits never bind a name the parent did
    not, and walking each function again is the search's hottest path.
    """
    out = Slots()
    stamp = not hasattr(tree, _PATH)
    if stamp:
        setattr(tree, _PATH, "")
    module_names = pools.module_names if pools else ()
    scopes = pools.scopes if pools else {}
    all_kinds = pools.kinds if pools else {}

    def mark(node: ast.AST, path: str) -> None:
        if stamp:
            setattr(node, _PATH, path)

    def visit_block(owner: ast.AST, name: str, ctx: tuple[Any, ...], path: str) -> None:
        scope, kinds, fn, loop = ctx
        if isinstance(owner, (ast.For, ast.While)) and name == "body":
            loop = _loop_names(owner)
        block = getattr(owner, name)
        inner = (scope, kinds, fn, loop)
        for i, stmt in enumerate(list(block)):
            here = f"{path}{name}.{i}"
            mark(stmt, here)
            out.stmts.append(Slot(owner, name, i, stmt, scope, False, kinds, fn, loop))
            visit(stmt, inner, here + ".")

    def visit(node: ast.AST, ctx: tuple[Any, ...], path: str) -> None:
        if isinstance(node, _LEAVES):
            return
        scope, kinds, fn, loop = ctx
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = scopes.get(node.name) or _function_scope(node, module_names)
            fn_kinds = all_kinds.get(node.name)
            if fn_kinds is None:
                fn_kinds = function_kinds(node)
            visit_block(node, "body", (inner, fn_kinds, node, None), path)
            return
        for name in _fields(type(node)):
            value = getattr(node, name, None)
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    if scope:
                        visit_block(node, name, ctx, path)
                    else:
                        for i, child in enumerate(value):
                            visit(child, ctx, f"{path}{name}.{i}.")
                    continue
                for i, child in enumerate(value):
                    here = f"{path}{name}.{i}"
                    if isinstance(child, ast.expr) and scope:
                        cond = isinstance(node, ast.comprehension) and name == "ifs"
                        mark(child, here)
                        out.exprs.append(Slot(node, name, i, child, scope, cond, kinds, fn, loop))
                    if isinstance(child, ast.AST):
                        visit(child, ctx, here + ".")
            elif isinstance(value, ast.AST):
                here = f"{path}{name}"
                if isinstance(value, ast.expr) and scope:
                    cond = name == "test" and isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert))
                    mark(value, here)
                    out.exprs.append(Slot(node, name, None, value, scope, cond, kinds, fn, loop))
                visit(value, ctx, here + ".")

    for i, stmt in enumerate(tree.body):
        visit(stmt, ((), {}, None, None), f"body.{i}.")
    return out


def _is_load(slot: Slot) -> bool:
    node = slot.node
    return slot.field != "func" and not isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del))


def _parse_expr(src: str) -> ast.expr:
    return ast.parse(src, mode="eval").body


def _parse_stmt(src: str) -> ast.stmt:
    return ast.parse(src).body[0]


def _is_int(node: Any) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _is_docstring(slot: Slot) -> bool:
    return isinstance(slot.owner, ast.Expr) and isinstance(slot.node, ast.Constant) and isinstance(slot.node.value, str)


def _int_names(slot: Slot, exclude: str = "", maybe: bool = False) -> list[str]:
    """Names in scope holding ints (with `maybe`, also names of unknown kind)."""
    wanted = (INT, None) if maybe else (INT,)
    return [n for n in slot.scope if n != exclude and slot.kinds.get(n) in wanted]


def _numeric_context(slot: Slot) -> bool:
    """A place whose value is a number when the program is right: assigned, returned, or an argument of max/min/abs."""
    owner = slot.owner
    if isinstance(owner, (ast.Assign, ast.AugAssign, ast.Return)) and slot.field == "value":
        return True
    if not (isinstance(owner, ast.Call) and slot.field == "args" and isinstance(owner.func, ast.Name)):
        return False
    return owner.func.id in ("max", "min", "abs") or owner.func.id not in _BUILTINS


def _int_valued(slot: Slot) -> bool:
    """An int expression worth shifting by one: not a constant (`int` does those), not a target."""
    node = slot.node
    if _is_int(node) or not _is_load(slot) or isinstance(slot.owner, ast.keyword):
        return False
    if isinstance(node, ast.Name) and node.id not in slot.scope:
        return False
    kind = expr_kind(node, slot.kinds)
    return kind == INT or (kind is None and isinstance(node, (ast.Subscript, ast.Call, ast.Name)) and _numeric_context(slot))


def _index_like(slot: Slot) -> bool:
    owner = slot.owner
    if isinstance(owner, ast.Subscript) and slot.field == "slice":
        return not isinstance(slot.node, (ast.Slice, ast.Tuple))
    if isinstance(owner, ast.Slice):
        return True
    if isinstance(owner, ast.Tuple) and slot.field == "elts":
        return isinstance(owner.ctx, ast.Load) and not isinstance(slot.node, ast.Starred)
    return (
        isinstance(owner, ast.Call) and slot.field == "args"
        and isinstance(owner.func, ast.Name) and owner.func.id == "range"
    )


def _seq_like(slot: Slot) -> bool:
    node = slot.node
    if not _is_load(slot):
        return False
    if isinstance(node, (ast.List, ast.ListComp)):
        return True
    kind = expr_kind(node, slot.kinds)
    if kind is not None:
        return kind == SEQ
    return isinstance(node, ast.Call) and not isinstance(slot.owner, (ast.Call, ast.Expr))


_BUILTINS = frozenset(dir(builtins))


# --- enumeration: every concrete edit an operator can make on a tree -------------------------


def _expr_edits(op: str, slots: Slots, pools: Pools) -> Iterator[Edit]:
    renamed: set[tuple[int, str]] = set()
    for slot in slots.exprs:
        site = slot.path
        if site is None:
            continue
        node = slot.node
        if op == "cmp" and isinstance(node, ast.Compare):
            for i, cur in enumerate(node.ops):
                alts: list[str] = []
                for group in _CMP_GROUPS:
                    if type(cur) in group:
                        alts.extend(c.__name__ for c in group if c is not type(cur))
                for alt in dict.fromkeys(alts):
                    yield Edit(op, site, (i, alt))
        elif op == "boolop" and isinstance(node, ast.BoolOp):
            yield Edit(op, site)
        elif op == "binop" and isinstance(node, ast.BinOp):
            for alt_op in _alternatives(node.op):
                yield Edit(op, site, (alt_op.__name__,))
        elif op == "int" and _is_int(node):
            yield Edit(op, site, (1,))
            yield Edit(op, site, (-1,))
        elif op == "index" and not isinstance(node, ast.Constant) and _is_load(slot) and (_index_like(slot) or _int_valued(slot)):
            yield Edit(op, site, (1,))
            yield Edit(op, site, (-1,))
        elif op == "name" and isinstance(node, ast.Name) and _is_load(slot) and node.id in slot.scope:
            for other in slot.scope:
                if other != node.id:
                    yield Edit(op, site, (other,))
        elif op == "builtin" and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _BUILTIN_SWAPS:
            yield Edit(op, site)
        elif op == "negate" and (slot.condition or isinstance(node, (ast.Compare, ast.BoolOp))):
            yield Edit(op, site)
        elif op == "operands" and isinstance(node, ast.BinOp):
            yield Edit(op, site)
        elif op == "args" and isinstance(node, ast.Call) and len(node.args) >= 2:
            for i in range(len(node.args)):
                for j in range(i + 1, len(node.args)):
                    yield Edit(op, site, (i, j))
        elif op == "const2var" and isinstance(node, ast.Constant) and not _is_docstring(slot):
            mine = expr_kind(node, slot.kinds)
            for name in slot.scope:
                if node.value is None or same_kind(mine, slot.kinds.get(name)):
                    yield Edit(op, site, (name,))
        elif op == "extend" and slot.condition:
            own = ast.unparse(node)
            focus = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            fresh = new_conditions(slot.scope, slot.kinds, focus)
            for cond in dict.fromkeys((*pools.conditions, *fresh)):
                if cond != own:
                    yield Edit(op, site, ("And", cond))
                    yield Edit(op, site, ("Or", cond))
        elif op == "wrap" and isinstance(node, _LOAD_KINDS) and _is_load(slot):
            for fn in _WRAPPERS:
                yield Edit(op, site, (fn,))
        elif op == "wrap2" and _is_load(slot) and (isinstance(node, (ast.BinOp, ast.Name, ast.Subscript, ast.Call))
                                                   and expr_kind(node, slot.kinds) in (INT, None)):
            inside = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            for fn in ("max", "min"):
                for other in ("0", *(n for n in _int_names(slot, maybe=True) if n not in inside or isinstance(node, ast.BinOp))):
                    yield Edit(op, site, (fn, other))
        elif op == "unwrap" and isinstance(node, ast.Call):
            for k, a in enumerate(node.args):
                if not isinstance(a, ast.Starred):
                    yield Edit(op, site, (k,))
            if isinstance(node.func, ast.Attribute):
                yield Edit(op, site, (-1,))
        elif op == "slice" and _is_load(slot):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
                yield Edit(op, site, ("drop",))
            elif isinstance(node, (ast.Name, ast.Call, ast.Attribute)) and expr_kind(node, slot.kinds) in (SEQ, None, "str"):
                for s in _SLICES:
                    yield Edit(op, site, (s,))
                for name in _int_names(slot, maybe=True):
                    yield Edit(op, site, (f"{name}:",))
                    yield Edit(op, site, (f":{name}",))
        elif op == "namearith" and isinstance(node, ast.Name) and _is_load(slot) and slot.kinds.get(node.id) == INT:
            for other in _int_names(slot, node.id, maybe=True):
                for how in ("Add", "Sub", "RSub"):
                    yield Edit(op, site, (how, other))
        elif op == "cmpconst" and isinstance(node, ast.Constant) and isinstance(slot.owner, (ast.Return, ast.Assign)) and slot.field == "value":
            focus = frozenset(n for n in slot.scope if slot.kinds.get(n) == INT)
            for cond in new_conditions(slot.scope, slot.kinds, focus):
                yield Edit(op, site, (cond,))
        elif op == "concat" and _seq_like(slot):
            inside = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            for name in slot.scope:
                if slot.kinds.get(name) == SEQ and (name not in inside or not isinstance(node, ast.Name)):
                    yield Edit(op, site, (name, "left"))
                    yield Edit(op, site, (name, "right"))
        elif op == "listwrap" and _is_load(slot) and isinstance(node, (ast.List, ast.Name, ast.Call, ast.Subscript)) \
                and not isinstance(slot.owner, ast.Subscript):
            yield Edit(op, site)
        elif op == "rename" and isinstance(node, ast.Name) and _is_load(slot) and slot.fn is not None \
                and node.id not in _BUILTINS and node.id not in pools.module_bound:
            key = (id(slot.fn), node.id)
            if key in renamed:
                continue
            renamed.add(key)
            mine = slot.kinds.get(node.id)
            for other in slot.scope:
                if other != node.id and (node.id not in slot.scope or same_kind(mine, slot.kinds.get(other))):
                    yield Edit(op, site, (other,))


def _stmt_edits(op: str, slots: Slots, pools: Pools) -> Iterator[Edit]:
    for slot in slots.stmts:
        site = slot.path
        if site is None:
            continue
        block = getattr(slot.owner, slot.field)
        i = slot.index or 0
        stmt = slot.node
        if op == "augop" and isinstance(stmt, ast.AugAssign):
            for alt in _alternatives(stmt.op):
                yield Edit(op, site, (alt.__name__,))
        elif op == "delete":
            yield Edit(op, site)
        elif op == "dup" and not isinstance(stmt, (ast.Return, ast.FunctionDef)):
            yield Edit(op, site)
        elif op == "swapnext" and i + 1 < len(block):
            yield Edit(op, site)
        elif op == "loopstmt" and slot.loop is not None and i == len(block) - 1:
            leaves = isinstance(stmt, (ast.Return, ast.Continue, ast.Break))
            for src in _loop_statements(slot):
                if not leaves:
                    yield Edit(op, site, (src, "after"))
                if leaves or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Yield)):
                    yield Edit(op, site, (src, "before"))
        elif op in ("move", "swap"):
            for j in range(len(block)):
                if op == "move" and j not in (i, i + 1):
                    yield Edit(op, site, (j,))
                elif op == "swap" and j > i + 1:
                    yield Edit(op, site, (j,))
        elif op in ("insert", "splice"):
            pool = pools.statements if op == "insert" else pools.sibling_statements
            last = i == len(block) - 1
            for src in pool:
                yield Edit(op, site, (src, "before"))
                if last:
                    yield Edit(op, site, (src, "after"))
        elif op == "replace":
            for src in pools.sibling_statements:
                if src != ast.unparse(stmt):
                    yield Edit(op, site, (src,))
        elif op == "guard" and not isinstance(stmt, ast.FunctionDef):
            for cond in pools.conditions:
                yield Edit(op, site, (cond,))
                yield Edit(op, site, (f"not ({cond})",))


def _loop_statements(slot: Slot) -> list[str]:
    """`result.append(item)` and `seen.add(x)`: what a loop that builds a collection forgets."""
    values = slot.loop or ()
    out: list[str] = []
    for name in slot.scope:
        kind = slot.kinds.get(name)
        method = "append" if kind == SEQ else "add" if kind == SET else None
        if method is None or name in values:
            continue
        out.extend(f"{name}.{method}({v})" for v in values if slot.kinds.get(v) not in (SEQ, SET, BOOL) or kind == SEQ)
    return out


def edits_for(op: str, slots: Slots, pools: Pools) -> list[Edit]:
    if op in EXPR_OPS:
        return list(_expr_edits(op, slots, pools))
    return list(_stmt_edits(op, slots, pools))


# --- application ------------------------------------------------------------------------------


def _apply_expr(e: Edit, slot: Slot) -> bool:
    node = slot.node
    op, arg = e.op, e.arg
    if op == "cmp" and isinstance(node, ast.Compare) and arg[0] < len(node.ops):
        node.ops[arg[0]] = _NAME_TO_OP[arg[1]]()
    elif op == "boolop" and isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif op == "binop" and isinstance(node, ast.BinOp):
        node.op = _NAME_TO_OP[arg[0]]()
    elif op == "int" and _is_int(node):
        node.value += arg[0]
    elif op == "index" and isinstance(node, ast.expr):
        slot.replace(ast.BinOp(node, ast.Add() if arg[0] > 0 else ast.Sub(), ast.Constant(1)))
    elif op == "name" and isinstance(node, ast.Name):
        node.id = arg[0]
    elif op == "builtin" and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _BUILTIN_SWAPS:
        node.func.id = _BUILTIN_SWAPS[node.func.id]
    elif op == "negate" and isinstance(node, ast.expr):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            slot.replace(node.operand)
        else:
            slot.replace(ast.UnaryOp(ast.Not(), node))
    elif op == "operands" and isinstance(node, ast.BinOp):
        node.left, node.right = node.right, node.left
    elif op == "args" and isinstance(node, ast.Call) and max(arg) < len(node.args):
        i, j = arg
        node.args[i], node.args[j] = node.args[j], node.args[i]
    elif op == "const2var" and isinstance(node, ast.Constant):
        slot.replace(ast.Name(arg[0], ast.Load()))
    elif op == "extend" and isinstance(node, ast.expr):
        boolop = ast.And() if arg[0] == "And" else ast.Or()
        slot.replace(ast.BoolOp(boolop, [node, _parse_expr(arg[1])]))
    elif op == "wrap" and isinstance(node, ast.expr):
        slot.replace(ast.Call(ast.Name(arg[0], ast.Load()), [node], []))
    elif op == "wrap2" and isinstance(node, ast.expr):
        slot.replace(ast.Call(ast.Name(arg[0], ast.Load()), [_parse_expr(arg[1]), node], []))
    elif op == "unwrap" and isinstance(node, ast.Call):
        if arg[0] == -1 and isinstance(node.func, ast.Attribute):
            slot.replace(node.func.value)
        elif 0 <= arg[0] < len(node.args):
            slot.replace(node.args[arg[0]])
        else:
            return False
    elif op == "slice" and isinstance(node, ast.expr):
        if arg[0] == "drop" and isinstance(node, ast.Subscript):
            slot.replace(node.value)
        elif arg[0] != "drop":
            sliced = _parse_expr(f"_[{arg[0]}]")
            assert isinstance(sliced, ast.Subscript)
            sliced.value = node
            slot.replace(sliced)
        else:
            return False
    elif op == "namearith" and isinstance(node, ast.Name):
        other = ast.Name(arg[1], ast.Load())
        if arg[0] == "RSub":
            slot.replace(ast.BinOp(other, ast.Sub(), node))
        else:
            slot.replace(ast.BinOp(node, _NAME_TO_OP[arg[0]](), other))
    elif op == "cmpconst" and isinstance(node, ast.Constant):
        slot.replace(_parse_expr(arg[0]))
    elif op == "concat" and isinstance(node, ast.expr):
        other = ast.Name(arg[0], ast.Load())
        slot.replace(ast.BinOp(other, ast.Add(), node) if arg[1] == "left" else ast.BinOp(node, ast.Add(), other))
    elif op == "listwrap" and isinstance(node, ast.expr):
        slot.replace(ast.List([node], ast.Load()))
    elif op == "rename" and isinstance(node, ast.Name) and slot.fn is not None:
        old = node.id
        for n in ast.walk(slot.fn):
            if isinstance(n, ast.Name) and n.id == old and isinstance(n.ctx, ast.Load):
                n.id = arg[0]
    else:
        return False
    return True


def _apply_stmt(e: Edit, slot: Slot) -> bool:
    block: list[ast.stmt] = getattr(slot.owner, slot.field)
    i = slot.index if slot.index is not None else 0
    stmt = slot.node
    op, arg = e.op, e.arg
    if op == "augop" and isinstance(stmt, ast.AugAssign):
        stmt.op = _NAME_TO_OP[arg[0]]()
    elif op == "delete":
        del block[i]
        if not block:
            block.append(ast.Pass())
    elif op == "dup":
        block.insert(i + 1, _copy(stmt))
    elif op == "swapnext" and i + 1 < len(block):
        block[i], block[i + 1] = block[i + 1], block[i]
    elif op == "move" and arg[0] < len(block):
        moved = block.pop(i)
        block.insert(arg[0] if arg[0] < i else arg[0] - 1, moved)
    elif op == "swap" and arg[0] < len(block):
        j = arg[0]
        block[i], block[j] = block[j], block[i]
    elif op in ("insert", "splice", "loopstmt"):
        block.insert(i if arg[1] == "before" else i + 1, _parse_stmt(arg[0]))
    elif op == "replace":
        block[i] = _parse_stmt(arg[0])
    elif op == "guard":
        block[i] = ast.If(_parse_expr(arg[0]), [stmt], [])
    else:
        return False
    return True


def _copy(node: ast.stmt) -> ast.stmt:
    return _parse_stmt(ast.unparse(node))


def _stamp_new(slots: Slots, edit: Edit) -> None:
    """Give the nodes an edit created paths derived from it, so later edits can address them."""
    count = 0
    for slot in (*slots.exprs, *slots.stmts):
        if slot.path is None:
            setattr(slot.node, _PATH, f"{edit.site}+{edit.op}.{count}")
            count += 1


def _apply_on(slots: Slots, edit: Edit) -> bool:
    slot = slots.find(edit.op, edit.site)
    if slot is None:
        return False
    apply: Callable[[Edit, Slot], bool] = _apply_expr if edit.op in EXPR_OPS else _apply_stmt
    try:
        return apply(edit, slot)
    except (SyntaxError, IndexError, KeyError, TypeError, ValueError, AttributeError):
        return False


def parse_stamped(source: str, pools: Pools | None = None) -> tuple[ast.Module, Slots]:
    """A fresh parse of the parent with every node marked with its path, and its slots."""
    tree = ast.parse(source)
    return tree, collect_slots(tree, pools)


def apply_edit(tree: ast.Module, edit: Edit, pools: Pools | None = None) -> bool:
    """Apply in place on a stamped tree; False (and the tree unchanged) when the edit no longer fits."""
    slots = collect_slots(tree, pools)
    if not _apply_on(slots, edit):
        return False
    _stamp_new(collect_slots(tree, pools), edit)
    return True


def apply_edits(source: str, edits: tuple[Edit, ...] | list[Edit], pools: Pools | None = None) -> tuple[ast.Module, list[Edit]]:
    """A fresh stamped tree with the edits replayed, and the edits that actually applied.

    The tree is for `ast.unparse`, not `compile`: new nodes carry no positions.
    """
    tree, slots = parse_stamped(source, pools)
    applied: list[Edit] = []
    for edit in edits:
        if _apply_on(slots, edit):
            applied.append(edit)
            slots = collect_slots(tree, pools)
            _stamp_new(slots, edit)
    return tree, applied


# --- pools ------------------------------------------------------------------------------------


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def imports_of(tree: ast.Module) -> frozenset[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return frozenset(found)


def module_names_of(tree: ast.Module) -> tuple[str, ...]:
    """Module-level constants a function may read (not imports, not functions)."""
    names: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                names.extend(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return tuple(dict.fromkeys(names))


def _statement_pool(tree: ast.Module, max_len: int = 160) -> list[str]:
    out: list[str] = []
    for fn in _functions(tree):
        for node in ast.walk(fn):
            if isinstance(node, ast.stmt) and node is not fn and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Import, ast.ImportFrom)):
                src = ast.unparse(node)
                if len(src) <= max_len:
                    out.append(src)
    return list(dict.fromkeys(out))


def build_pools(parent: ast.Module, siblings: list[str]) -> Pools:
    conditions: list[str] = []
    for fn in _functions(parent):
        for node in ast.walk(fn):
            if isinstance(node, ast.Compare):
                conditions.append(ast.unparse(node))
    statements = _statement_pool(parent)
    own = set(statements)
    parent_imports = imports_of(parent)
    sibling_statements: list[str] = []
    for src in siblings:
        try:
            tree = ast.parse(src)
        except (SyntaxError, ValueError):
            continue
        if not imports_of(tree) <= parent_imports:
            continue
        sibling_statements.extend(s for s in _statement_pool(tree) if s not in own)
    module_names = module_names_of(parent)
    functions = list(reversed(_functions(parent)))
    return Pools(
        conditions=tuple(dict.fromkeys(conditions)),
        statements=tuple(statements),
        sibling_statements=tuple(dict.fromkeys(sibling_statements)),
        imports=parent_imports,
        module_names=module_names,
        scopes={fn.name: _function_scope(fn, module_names) for fn in functions},
        kinds={fn.name: function_kinds(fn) for fn in functions},
        module_bound=_module_bound(parent),
    )


def _module_bound(tree: ast.Module) -> frozenset[str]:
    """Names bound at module level (imports, functions, constants): never renamed."""
    names: set[str] = set(module_names_of(tree))
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
    return frozenset(names)
