"""What makes a source file an allele: its entry point and the modules it may import.

These static rules are checked before a source is registered or committed; the
sandbox enforces the same allowlist at run time, and the process confinement is
what actually holds a gene in.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

ENTRY_POINT = "execute"

DEFAULT_ALLOWLIST: tuple[str, ...] = (
    "json", "math", "re", "itertools", "functools", "collections", "dataclasses",
    "ipaddress", "datetime", "time", "hashlib", "string", "typing", "enum", "decimal",
    "fractions", "statistics", "copy", "heapq", "bisect", "csv", "gene_sdk",
)


@dataclass(frozen=True)
class SourceProblem:
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


def source_problems(source: str, allowlist: tuple[str, ...] | frozenset[str] = DEFAULT_ALLOWLIST) -> list[SourceProblem]:
    """Why this source cannot be an allele: syntax, entry point, imports. Empty if it can."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [SourceProblem(exc.lineno or 1, exc.offset or 1, f"syntax error: {exc.msg}")]
    except ValueError as exc:
        return [SourceProblem(1, 1, f"cannot parse: {exc}")]
    problems: list[SourceProblem] = []
    allowed = frozenset(allowlist)
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                problems.append(SourceProblem(node.lineno, node.col_offset + 1, "relative imports are not allowed in an allele"))
                continue
            names = [node.module or ""]
        else:
            continue
        for name in names:
            if name.split(".")[0] not in allowed:
                problems.append(SourceProblem(node.lineno, node.col_offset + 1, f"import of {name} is outside the allowlist"))
    entry = [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == ENTRY_POINT
    ]
    if not entry:
        problems.append(SourceProblem(1, 1, f"no top-level function `{ENTRY_POINT}(input_json: str) -> str`"))
    else:
        args = entry[0].args
        positional = args.posonlyargs + args.args
        required = len(positional) - len(args.defaults)
        if required != 1 or args.vararg or (args.kwonlyargs and any(d is None for d in args.kw_defaults)):
            fn = entry[0]
            problems.append(SourceProblem(fn.lineno, fn.col_offset + 1, f"`{ENTRY_POINT}` must take exactly one argument, the input JSON string"))
    return problems
