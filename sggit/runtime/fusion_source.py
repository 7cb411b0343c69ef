"""The mechanical fused source: a pathway's constituents compiled into one allele.

Each constituent's source becomes a local factory of its `execute`; `import json`
inside it becomes a shim that hands values over as Python objects; a small
interpreter walks the pathway's plan (see `fusion.plan_of`) exactly as the runner
would, and reports `{"ok", "outputs", "failed_step", "error"}`.
"""

from __future__ import annotations

import ast
import textwrap
from typing import Any

from sggit.errors import SggitError
from sggit.genes import source_problems


class FusionError(SggitError):
    """A pathway that cannot be fused mechanically (nested pathways, `global` in a constituent)."""


class _JsonImports(ast.NodeTransformer):
    """`import json` becomes a binding to the fused module's shim; everything else is untouched."""

    def visit_Import(self, node: ast.Import) -> Any:
        if not any(a.name == "json" for a in node.names):
            return node
        out: list[ast.stmt] = []
        rest = [a for a in node.names if a.name != "json"]
        if rest:
            out.append(ast.Import(names=rest))
        for alias in node.names:
            if alias.name == "json":
                out.append(ast.Assign(targets=[ast.Name(alias.asname or "json", ast.Store())], value=ast.Name("_JSON", ast.Load())))
        return out

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        if node.module != "json":
            return node
        return [
            ast.Assign(targets=[ast.Name(a.asname or a.name, ast.Store())], value=ast.Attribute(ast.Name("_JSON", ast.Load()), a.name, ast.Load()))
            for a in node.names
        ]


def constituent_factory(index: int, source: str) -> str:
    """An allele's module body as `def _make_N(): ...; return execute`, with json routed to the shim."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            raise FusionError(f"constituent {index} uses `{type(node).__name__.lower()}`, which a fused module cannot preserve")
    tree = ast.fix_missing_locations(_JsonImports().visit(tree))
    body = ast.unparse(tree)
    return f"def _make_{index}():\n{textwrap.indent(body, '    ')}\n    return execute\n"


_RUNTIME = '''
class _Json(str):
    """A constituent's JSON output that still carries the object it was made from."""
    obj = None


class _Passed:
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj


class _Shim:
    """What `import json` gives a constituent: objects pass through instead of being re-parsed."""

    def loads(self, s, *args, **kwargs):
        if isinstance(s, _Passed):
            return s.obj
        if isinstance(s, _Json) and s.obj is not None:
            return s.obj
        return json.loads(s, *args, **kwargs)

    def dumps(self, obj, *args, **kwargs):
        text = _Json(json.dumps(obj, *args, **kwargs))
        text.obj = obj
        return text

    def __getattr__(self, name):
        return getattr(json, name)


_JSON = _Shim()


class _StepFailed(Exception):
    pass


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _resolve(ref, names, steps):
    step, path = ref[1], list(ref[2])
    if step is not None:
        if step not in steps:
            raise _StepFailed("step %s has no result yet" % step)
        current = steps[step]
    else:
        if path[0] not in names:
            raise _StepFailed("nothing named %s here" % path[0])
        current = names[path[0]]
        path = path[1:]
    for part in path:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            index = int(part)
            if not isinstance(current, list) or index >= len(current):
                raise _StepFailed("index %s is out of range" % index)
            current = current[index]
        else:
            if not isinstance(current, dict) or part not in current:
                raise _StepFailed("no field %s" % part)
            current = current[part]
    return current


def _value(value, names, steps):
    kind = value[0]
    if kind == "lit":
        return value[1]
    if kind == "list":
        return [_value(v, names, steps) for v in value[1]]
    if kind == "ref":
        return _resolve(value, names, steps)
    return "".join(p if isinstance(p, str) else _text(_resolve(p, names, steps)) for p in value[1])


def _invoke(genes, call, names, steps):
    target = call["target"]
    params = dict(_PLAN["genes"][target]["defaults"])
    params.update({name: _value(v, names, steps) for name, v in call["params"]})
    try:
        raw = genes[target](_Passed(params))
    except Exception as exc:
        raise _StepFailed("%s: %s: %s" % (target, type(exc).__name__, exc))
    if isinstance(raw, _Json) and raw.obj is not None:
        out = raw.obj
    elif isinstance(raw, str):
        out = json.loads(raw)
    else:
        raise _StepFailed("%s returned %s, not a JSON string" % (target, type(raw).__name__))
    if _PLAN["genes"][target]["family"] == "configuration" and isinstance(out, dict) and out.get("success") is False:
        raise _StepFailed("%s reported failure: %s" % (target, out.get("error") or "success=false"))
    return out


def _step(genes, step, names, steps):
    kind = step["kind"]
    if kind == "call":
        return True, _invoke(genes, step["call"], names, steps)
    if kind == "for":
        items = _value(step["iterable"], names, steps)
        if not isinstance(items, list):
            raise _StepFailed("for %s: expected a list" % step["var"])
        results = []
        for item in items:
            scope = dict(names)
            scope[step["var"]] = item
            row = {}
            for call in step["body"]:
                row[call["target"]] = _invoke(genes, call, scope, steps)
            results.append(row[step["body"][0]["target"]] if len(step["body"]) == 1 else row)
        return True, results
    flag = bool(_resolve(["ref", step["step"], step["path"]], {}, steps))
    for when, call in step["branches"]:
        if when == flag:
            return True, _invoke(genes, call, names, steps)
    return False, None


def execute(input_json):
    names = json.loads(input_json)
    genes = {locus: factory() for locus, factory in _FACTORIES.items()}
    steps = {}
    for step in _PLAN["steps"]:
        try:
            ran, output = _step(genes, step, names, steps)
        except _StepFailed as exc:
            return json.dumps({"ok": False, "outputs": {str(k): v for k, v in steps.items()}, "failed_step": step["number"], "error": str(exc)})
        if ran:
            steps[step["number"]] = output
    return json.dumps({"ok": True, "outputs": {str(k): v for k, v in steps.items()}, "failed_step": None, "error": None})
'''


def mechanical_source(plan: dict[str, Any], sources: dict[str, str], alleles: dict[str, str]) -> str:
    """One allele that runs every constituent (locus -> its allele's source) as a local function."""
    loci = sorted(plan["genes"])
    missing = [locus for locus in loci if locus not in sources]
    if missing:
        raise FusionError(f"no allele chosen for {', '.join(missing)}")
    header = [
        f'"""Fused pathway {plan["pathway"]}: ' + ", ".join(f"{locus}={alleles[locus][:12]}" for locus in loci) + '."""',
        "",
        "import json",
        "",
        f"_PLAN = {plan!r}",
        "",
    ]
    factories = [constituent_factory(i, sources[locus]) for i, locus in enumerate(loci)]
    table = "_FACTORIES = {" + ", ".join(f"{locus!r}: _make_{i}" for i, locus in enumerate(loci)) + "}\n"
    source = "\n".join(header) + "\n\n".join(factories) + "\n" + table + _RUNTIME
    problems = source_problems(source)
    if problems:
        raise FusionError(f"the fused source of {plan['pathway']} is not a valid allele: {problems[0]}")
    return source
