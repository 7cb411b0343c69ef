"""Fusion: a pathway that keeps succeeding with the same alleles becomes one gene.

A pathway expressed step by step pays, at every step, a worker round trip, JSON
both ways and a validation of input and output. Once it has run `threshold`
times in a row with the same allele at every locus, those checks only confirm
what the streak already showed, so the constituents are compiled into one
allele that runs in one worker call: each constituent's source becomes a local
factory of its `execute`, `import json` inside it becomes a shim that hands
values over as Python objects, and a small interpreter walks the pathway's plan
(references, `for` loops, `when` branches) exactly as the runner would. The
fused gene's input is the pathway's input; its output is
`{"ok", "outputs", "failed_step", "error"}` where `outputs` is the map of step
outputs the unfused pathway produces, so a replay can compare the two.

Decomposition is the way back: when the fused gene fails, its one transaction
is rolled back, the pathway is marked decomposed and runs step by step again,
where every step is scored, the broken one is found and mutated, and a new
streak can fuse it again.
"""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from sggit.contract import nodes as n
from sggit.contract.tree import ContractTree
from sggit.errors import SggitError
from sggit.fsutil import atomic_write_text
from sggit.genes import source_problems
from sggit.genome import phenostore
from sggit.genome.alleles import register_allele
from sggit.genome.damage import salvage_object, warn
from sggit.genome.lineage import Lineage
from sggit.genome.repo import Genome
from sggit.runtime.pathway import PathwayResult, StepReport
from sggit.runtime.values import evaluate

DEFAULT_THRESHOLD = 10
THRESHOLD_SETTING = "fusion_threshold"


class FusionError(SggitError):
    """A pathway that cannot be fused mechanically (nested pathways, `global` in a constituent)."""


# -- the plan: a pathway as plain data the fused gene can interpret ----------------------


def encode_value(value: n.Value) -> Any:
    """A contract value as JSON-able data: ["lit", v], ["ref", step, path], ["text", parts], ["list", items]."""
    if isinstance(value, (n.Scalar, n.Word)):
        return ["lit", value.value]
    if isinstance(value, n.ListValue):
        return ["list", [encode_value(v) for v in value.items]]
    single = value.single_ref
    if single is not None:
        return ["ref", single.step, list(single.path)]
    return ["text", [p if isinstance(p, str) else ["ref", p.step, list(p.path)] for p in value.parts]]


def _call(call: n.Call) -> dict[str, Any]:
    return {"target": call.target, "params": [[p.name, encode_value(p.value)] for p in call.params]}


def step_order(pathway: n.Pathway) -> list[int]:
    """Step numbers in an order that respects every dependency (the runner's, run one at a time)."""
    from sggit.runtime.pathway import _step_needs

    needs = _step_needs(pathway)
    done: list[int] = []
    pending = [s.number for s in pathway.steps]
    while pending:
        ready = next((num for num in pending if needs[num] <= set(done)), None)
        if ready is None:
            raise FusionError(f"pathway {pathway.name} has a dependency cycle")
        pending.remove(ready)
        done.append(ready)
    return done


def fusion_problem(tree: ContractTree, name: str) -> str | None:
    """Why a pathway cannot be fused, or None when it can."""
    pathway = tree.pathways.get(name)
    if pathway is None:
        return f"unknown pathway {name}"
    for step in pathway.steps:
        for call in step.calls():
            if call.pathway or call.target not in tree.genes:
                return f"step {step.number} calls pathway {call.target}; only pathways of genes fuse"
    return None


def plan_of(tree: ContractTree, name: str) -> dict[str, Any]:
    problem = fusion_problem(tree, name)
    if problem:
        raise FusionError(problem)
    pathway = tree.pathways[name]
    by_number = {s.number: s for s in pathway.steps}
    steps: list[dict[str, Any]] = []
    for num in step_order(pathway):
        body = by_number[num].body
        if isinstance(body, n.Call):
            steps.append({"number": num, "kind": "call", "call": _call(body)})
        elif isinstance(body, n.ForStep):
            steps.append({"number": num, "kind": "for", "var": body.var, "iterable": encode_value(body.iterable), "body": [_call(c) for c in body.body]})
        else:
            steps.append({"number": num, "kind": "when", "step": body.step, "path": list(body.path),
                          "branches": [[b.when, _call(b.call)] for b in body.branches]})
    loci = sorted({c.target for s in pathway.steps for c in s.calls()})
    genes = {
        locus: {
            "family": tree.genes[locus].family,
            "defaults": {f.name: evaluate(f.default, {}) for f in tree.genes[locus].takes if f.default is not None},
        }
        for locus in loci
    }
    return {"pathway": name, "steps": steps, "genes": genes}


# -- the mechanical fused source ---------------------------------------------------------


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


def register_fused(genome: Genome, phenotype: str, pathway: str, source: str, alleles: dict[str, str], *, engine: str | None = None) -> str:
    """The fused gene as an allele at the pathway's name, its lineage naming the constituents, then the fusion commit."""
    lineage = Lineage(locus=pathway, origin="fusion", parents=sorted(set(alleles.values())), engine=engine, constituents=dict(sorted(alleles.items())))
    allele = register_allele(genome, pathway, source, lineage).id
    phenostore.fuse(genome, phenotype, pathway, allele)
    return allele


# -- reinforcement ------------------------------------------------------------------------


class Streak(BaseModel):
    count: int = 0
    alleles: dict[str, str] = Field(default_factory=dict)


class StreakBook(BaseModel):
    pathways: dict[str, Streak] = Field(default_factory=dict)


def threshold_for(settings: dict[str, Any]) -> int:
    value = settings.get(THRESHOLD_SETTING, DEFAULT_THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SggitError(f"setting {THRESHOLD_SETTING} must be a positive integer, not {value!r}")
    return value


def alleles_used(result: PathwayResult) -> dict[str, str] | None:
    """locus -> allele for every call the run made; None when a locus ran two different alleles."""
    used: dict[str, str] = {}
    for report in result.steps:
        for child in report.children:
            locus = getattr(child.detail, "locus", None)
            if child.allele is None or locus is None:
                return None
            if used.setdefault(locus, child.allele) != child.allele:
                return None
    return used


class Reinforcement:
    """Consecutive same-allele successes per pathway, kept next to the genome (`.git/sggit/fusion-<phenotype>.json`)."""

    def __init__(self, genome: Genome, phenotype: str) -> None:
        self.path: Path = genome.state_dir / f"fusion-{phenotype}.json"
        self.genome = genome

    def load(self) -> StreakBook:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return StreakBook()
        raw, whole = salvage_object(text)
        pathways = raw.get("pathways") if isinstance(raw.get("pathways"), dict) else {}
        streaks = {}
        for name, value in pathways.items():
            try:
                streaks[name] = Streak.model_validate(value)
            except ValueError:
                whole = False
        if not whole:
            warn("fusion state", str(self.path), f"not whole JSON; recovered {len(streaks)} streak(s)")
        return StreakBook(pathways=streaks)

    def _save(self, book: StreakBook) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, book.model_dump_json(indent=2) + "\n")

    def observe(self, pathway: str, ok: bool, used: dict[str, str] | None) -> Streak:
        """Extend the streak with this run, or restart it: a failure or a different allele breaks it."""
        with self.genome.locked():
            book = self.load()
            streak = book.pathways.get(pathway, Streak())
            if not ok or used is None:
                streak = Streak()
            elif any(streak.alleles.get(locus, allele) != allele for locus, allele in used.items()):
                streak = Streak(count=1, alleles=dict(used))
            else:
                streak = Streak(count=streak.count + 1, alleles={**streak.alleles, **used})
            book.pathways[pathway] = streak
            self._save(book)
            return streak

    def reset(self, pathway: str) -> None:
        with self.genome.locked():
            book = self.load()
            book.pathways[pathway] = Streak()
            self._save(book)


# -- running the fused gene's result as a pathway result ----------------------------------


class FusedOutput(BaseModel):
    ok: bool
    outputs: dict[str, Any] = Field(default_factory=dict)
    failed_step: int | None = None
    error: str | None = None


def fused_result(pathway: n.Pathway, allele: str, output: FusedOutput) -> PathwayResult:
    """The fused run reported as the step-by-step runner would report it."""
    reports: list[StepReport] = []
    for step in pathway.steps:
        key = str(step.number)
        report = StepReport(number=step.number, target=_describe(step))
        if key in output.outputs:
            report.status, report.output, report.alleles = "ok", output.outputs[key], [allele]
        elif output.ok:
            report.status = "skipped"
        elif step.number == output.failed_step:
            report.status, report.error = "failed", output.error
        reports.append(report)
    return PathwayResult(pathway=pathway.name, status="ok" if output.ok else "failed", steps=reports, policies=[p.text for p in pathway.on_failure])


def _describe(step: n.Step) -> str:
    from sggit.runtime.pathway import _describe as describe

    return describe(step)


def compare_outputs(fused: FusedOutput, unfused: PathwayResult) -> list[str]:
    """Where a fused run and a step-by-step run of the same input disagree (empty when they agree)."""
    diffs: list[str] = []
    if fused.ok != unfused.ok:
        diffs.append(f"fused ok={fused.ok}, step by step ok={unfused.ok}")
    expected = json.loads(json.dumps(unfused.outputs))
    got = json.loads(json.dumps(fused.outputs))
    for key in sorted(set(expected) | set(got)):
        if expected.get(key) != got.get(key):
            diffs.append(f"step {key}: fused {got.get(key)!r} != step by step {expected.get(key)!r}")
    return diffs


# -- replay: an optimised fused gene must reproduce the mechanical one ---------------------


class ReplayCase(BaseModel):
    input: dict[str, Any]
    ok: bool
    detail: str = ""


def _snapshot(kernel: Any) -> list[Any]:
    links = kernel.list_links()
    ports = [[l["name"], [p["name"] for p in kernel.list_ports(l["name"])]] for l in links if l["kind"] == "bridge"]
    return [sorted((l["name"], l["kind"], l["master"], l["mac"], l["up"]) for l in links), ports]


def replay(pool: Any, mechanical: tuple[str, str], candidate: tuple[str, str], inputs: list[dict[str, Any]], kernel_factory: Any, *, timeout: float = 30.0) -> list[ReplayCase]:
    """Run both fused genes on each input, each on its own fresh kernel; agree on output and on the kernel they leave."""
    from sggit.kernel.dispatch import make_handler
    from sggit.kernel.undo import UndoLog

    cases: list[ReplayCase] = []
    for data in inputs:
        seen: list[tuple[Any, Any]] = []
        for allele, source in (mechanical, candidate):
            kernel = kernel_factory()
            outcome = pool.run(allele, source, json.dumps(data), handler=make_handler(kernel, UndoLog()), timeout=timeout)
            if not outcome.ok:
                seen.append((f"{outcome.error}: {outcome.message}", None))
                continue
            try:
                output = FusedOutput.model_validate_json(outcome.output or "")
            except ValueError as exc:
                seen.append((f"output is not a fused result: {exc}", None))
                continue
            seen.append((output.model_dump(mode="json"), _snapshot(kernel)))
        (want, want_kernel), (got, got_kernel) = seen
        if not isinstance(got, dict):
            cases.append(ReplayCase(input=data, ok=False, detail=str(got)))
        elif got != want:
            cases.append(ReplayCase(input=data, ok=False, detail=f"output {json.dumps(got, sort_keys=True)} != {json.dumps(want, sort_keys=True)}"))
        elif got_kernel != want_kernel:
            cases.append(ReplayCase(input=data, ok=False, detail="leaves the kernel in a different state"))
        else:
            cases.append(ReplayCase(input=data, ok=True))
    return cases
