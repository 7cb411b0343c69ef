"""AST edits: the genes of a patch.

A patch is a list of `Edit`s replayed on a fresh parse of the parent. An edit names
its operator, a site (the n-th expression or statement slot in a deterministic
walk) and an argument whose payloads are source text, so an edit still means
something when it is replayed after other edits, dropped by the minimiser, or
moved into another patch by crossover. An edit whose site no longer exists, or
whose argument no longer fits, is a no-op.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

EXPR_OPS_TIER1 = ("cmp", "boolop", "binop", "int", "index", "name", "builtin", "negate", "operands", "args")
EXPR_OPS_TIER2 = ("const2var", "extend", "wrap", "unwrap", "slice")
STMT_OPS_TIER1 = ("augop",)
STMT_OPS_TIER2 = ("delete", "dup", "swapnext")
STMT_OPS_TIER3 = ("move", "swap", "insert", "guard", "splice", "replace")

TIERS: tuple[tuple[str, ...], ...] = (
    EXPR_OPS_TIER1 + STMT_OPS_TIER1,
    EXPR_OPS_TIER2 + STMT_OPS_TIER2,
    STMT_OPS_TIER3,
)
ALL_OPS: tuple[str, ...] = tuple(op for tier in TIERS for op in tier)
PAYLOAD_OPS = frozenset({"insert", "splice", "replace"})


@dataclass(frozen=True)
class Edit:
    op: str
    site: int
    arg: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.op}@{self.site}{list(self.arg) if self.arg else ''}"


_CMP_GROUPS: tuple[tuple[type[ast.cmpop], ...], ...] = (
    (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq),
    (ast.Is, ast.IsNot, ast.Eq, ast.NotEq),
    (ast.In, ast.NotIn),
)
_ARITH: tuple[type[ast.operator], ...] = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Div, ast.Mod)
_NAME_TO_OP: dict[str, type] = {cls.__name__: cls for cls in (*{c for g in _CMP_GROUPS for c in g}, *_ARITH)}
_BUILTIN_SWAPS = {"any": "all", "all": "any", "min": "max", "max": "min"}
_WRAPPERS = ("len", "list", "max", "min")
_SLICES = ("1:", ":-1")
_LOAD_KINDS = (ast.Name, ast.Call, ast.Subscript, ast.Attribute)


@dataclass(slots=True)
class Slot:
    """Where a node hangs: replacing it is `setattr(owner, field, new)` or a list store."""

    owner: ast.AST
    field: str
    index: int | None
    node: Any
    scope: tuple[str, ...] = ()
    condition: bool = False

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


@dataclass
class Slots:
    exprs: list[Slot] = field(default_factory=list)
    stmts: list[Slot] = field(default_factory=list)


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


def collect_slots(tree: ast.Module, pools: Pools | None = None) -> Slots:
    """Every expression slot and statement slot inside functions, in a stable order.

    Names in scope come from the parent (`pools.scopes`) when known: edits never
    bind a name the parent did not, and walking each function again is the
    search's hottest path.
    """
    out = Slots()
    module_names = pools.module_names if pools else ()
    scopes = pools.scopes if pools else {}

    def visit_block(owner: ast.AST, name: str, scope: tuple[str, ...]) -> None:
        block = getattr(owner, name)
        for i, stmt in enumerate(list(block)):
            out.stmts.append(Slot(owner, name, i, stmt, scope))
            visit(stmt, scope)

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        if isinstance(node, _LEAVES):
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = scopes.get(node.name) or _function_scope(node, module_names)
            visit_block(node, "body", inner)
            return
        for name in _fields(type(node)):
            value = getattr(node, name, None)
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    if scope:
                        visit_block(node, name, scope)
                    else:
                        for child in value:
                            visit(child, scope)
                    continue
                for i, child in enumerate(value):
                    if isinstance(child, ast.expr) and scope:
                        cond = isinstance(node, ast.comprehension) and name == "ifs"
                        out.exprs.append(Slot(node, name, i, child, scope, cond))
                    if isinstance(child, ast.AST):
                        visit(child, scope)
            elif isinstance(value, ast.AST):
                if isinstance(value, ast.expr) and scope:
                    cond = name == "test" and isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert))
                    out.exprs.append(Slot(node, name, None, value, scope, cond))
                visit(value, scope)

    for stmt in tree.body:
        visit(stmt, ())
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


# --- enumeration: every concrete edit an operator can make on a tree -------------------------


def _expr_edits(op: str, slots: Slots, pools: Pools) -> Iterator[Edit]:
    for site, slot in enumerate(slots.exprs):
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
        elif op == "binop" and isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            for alt in _ARITH:
                if alt is not type(node.op):
                    yield Edit(op, site, (alt.__name__,))
        elif op == "int" and _is_int(node):
            yield Edit(op, site, (1,))
            yield Edit(op, site, (-1,))
        elif op == "index" and _index_like(slot) and not _is_int(node):
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
            for name in slot.scope:
                yield Edit(op, site, (name,))
        elif op == "extend" and slot.condition:
            own = ast.unparse(node)
            for cond in pools.conditions:
                if cond != own:
                    yield Edit(op, site, ("And", cond))
                    yield Edit(op, site, ("Or", cond))
        elif op == "wrap" and isinstance(node, _LOAD_KINDS) and _is_load(slot):
            for fn in _WRAPPERS:
                yield Edit(op, site, (fn,))
        elif op == "unwrap" and isinstance(node, ast.Call):
            for k, a in enumerate(node.args):
                if not isinstance(a, ast.Starred):
                    yield Edit(op, site, (k,))
            if isinstance(node.func, ast.Attribute):
                yield Edit(op, site, (-1,))
        elif op == "slice" and _is_load(slot):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
                yield Edit(op, site, ("drop",))
            elif isinstance(node, (ast.Name, ast.Call, ast.Attribute)):
                for s in _SLICES:
                    yield Edit(op, site, (s,))


def _index_like(slot: Slot) -> bool:
    owner = slot.owner
    if isinstance(owner, ast.Subscript) and slot.field == "slice":
        return not isinstance(slot.node, ast.Slice)
    if isinstance(owner, ast.Slice):
        return True
    return (
        isinstance(owner, ast.Call) and slot.field == "args"
        and isinstance(owner.func, ast.Name) and owner.func.id == "range"
    )


def _stmt_edits(op: str, slots: Slots, pools: Pools) -> Iterator[Edit]:
    for site, slot in enumerate(slots.stmts):
        block = getattr(slot.owner, slot.field)
        i = slot.index or 0
        stmt = slot.node
        if op == "augop" and isinstance(stmt, ast.AugAssign) and type(stmt.op) in _ARITH:
            for alt in _ARITH:
                if alt is not type(stmt.op):
                    yield Edit(op, site, (alt.__name__,))
        elif op == "delete":
            yield Edit(op, site)
        elif op == "dup" and not isinstance(stmt, (ast.Return, ast.FunctionDef)):
            yield Edit(op, site)
        elif op == "swapnext" and i + 1 < len(block):
            yield Edit(op, site)
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


def edits_for(op: str, slots: Slots, pools: Pools) -> list[Edit]:
    if op in EXPR_OPS_TIER1 or op in EXPR_OPS_TIER2:
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
    elif op in ("insert", "splice"):
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


def apply_edit(tree: ast.Module, edit: Edit, pools: Pools | None = None) -> bool:
    """Apply in place; False (and the tree unchanged) when the edit no longer fits."""
    slots = collect_slots(tree, pools)
    is_expr = edit.op in EXPR_OPS_TIER1 or edit.op in EXPR_OPS_TIER2
    table = slots.exprs if is_expr else slots.stmts
    if not 0 <= edit.site < len(table):
        return False
    apply: Callable[[Edit, Slot], bool] = _apply_expr if is_expr else _apply_stmt
    try:
        return apply(edit, table[edit.site])
    except (SyntaxError, IndexError, KeyError, TypeError, ValueError, AttributeError):
        return False


def apply_edits(source: str, edits: tuple[Edit, ...] | list[Edit], pools: Pools | None = None) -> tuple[ast.Module, list[Edit]]:
    """A fresh tree with the edits replayed, and the edits that actually applied.

    The tree is for `ast.unparse`, not `compile`: new nodes carry no positions.
    """
    tree = ast.parse(source)
    applied = [e for e in edits if apply_edit(tree, e, pools)]
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
    return Pools(
        conditions=tuple(dict.fromkeys(conditions)),
        statements=tuple(statements),
        sibling_statements=tuple(dict.fromkeys(sibling_statements)),
        imports=parent_imports,
        module_names=module_names_of(parent),
        scopes={fn.name: _function_scope(fn, module_names_of(parent)) for fn in reversed(_functions(parent))},
    )
