"""The package's rooms: imports flow one way, no module imports in a circle, and a run reads things once."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import sggit
from sggit.genome import phenostore
from sggit.runtime.pathway import PathwayRunner
from tests.helpers import sg_in

PACKAGE = Path(sggit.__file__).parent
# Each room may import only rooms to its right (and top-level helper modules).
ORDER = ["cli", "app", "runtime", "engines", "kernel", "genome", "contract"]


def imports() -> dict[str, set[str]]:
    """Module -> the sggit modules it imports anywhere in its body (also inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("sggit"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("sggit"))
        graph[name] = found
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in ORDER else None


def test_imports_flow_from_cli_through_app_and_runtime_down_to_contract() -> None:
    wrong = []
    for module, deps in imports().items():
        here = room(module)
        if here is None or module == "sggit.demo":
            continue
        for dep in deps:
            there = room(dep)
            if there is not None and ORDER.index(there) < ORDER.index(here):
                wrong.append(f"{module} imports {dep}")
    assert wrong == []


def test_no_module_imports_itself_in_a_circle() -> None:
    graph = imports()
    # Importing a package runs its __init__: a module importing its own package is not a circle.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    circles: list[list[str]] = []
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                circles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert [c for c in circles if any(".runtime" in m or ".app" in m for m in c)] == []


def test_a_pathway_run_reads_the_phenotype_once_and_validates_its_input_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def run(bridge: str, uplink: str) -> dict:
        result = sg_in(project, "run", "provision_management_bridge", "--phenotype", "dell_r740",
                       "--input", json.dumps({"management_bridge": bridge, "uplink_interface": uplink}))
        return json.loads(result.stdout)

    run("mgmt", "eno1")  # the phenotype's mock host now exists
    reads: list[str] = []
    validations: list[str] = []
    read, validate = phenostore.read_phenotype, PathwayRunner.validate_input
    monkeypatch.setattr(phenostore, "read_phenotype", lambda genome, name: reads.append(name) or read(genome, name))
    monkeypatch.setattr(PathwayRunner, "validate_input", lambda self, p, i: validations.append(p.name) or validate(self, p, i))
    assert run("mgmt2", "eno2")["ok"] is True
    assert reads == ["dell_r740"]
    assert validations == ["provision_management_bridge"]
