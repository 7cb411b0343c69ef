"""Semantic checks across a contract tree: names resolve, types exist, values fit.

Each rule reports a located diagnostic and carries on, so one run lists every
problem in a genome.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

from sggit.contract import nodes as n
from sggit.contract.errors import Diagnostic
from sggit.contract.tree import ContractTree
from sggit.contract.validate import check_value, literal_value
from sggit.contract.value_types import VALUE_TYPES

# Resource kinds a topology may declare, and the properties each accepts (a
# property marked True names another resource of the same topology). This package
# knows none of its own: domains register theirs, or a caller passes a table.
ResourceKinds = Mapping[str, Mapping[str, bool]]
RESOURCE_KINDS: dict[str, dict[str, bool]] = {}


def register_resource_kinds(kinds: ResourceKinds) -> None:
    """Add resource kinds every later check accepts (the default of `check_tree`)."""
    RESOURCE_KINDS.update({name: dict(props) for name, props in kinds.items()})


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else None


@dataclass
class _Scope:
    """Names a {reference} may start with, and what earlier steps produce."""

    names: set[str]
    steps: dict[int, n.Step] | None = None
    current_step: int | None = None
    loops: dict[str, list[Any]] = _field(default_factory=dict)
    """A `for` variable over a literal list: the values it takes, each checked where it is passed."""


def _bare_loop_var(value: n.Value, scope: _Scope) -> str | None:
    """The `for` variable `value` is, alone (`count={c}`), when its values are known; else None."""
    if isinstance(value, n.Template) and len(value.parts) == 1:
        ref = value.parts[0]
        if isinstance(ref, n.Ref) and ref.step is None and len(ref.path) == 1 and ref.path[0] in scope.loops:
            return str(ref.path[0])
    return None


class _Checker:
    def __init__(self, tree: ContractTree, resource_kinds: ResourceKinds) -> None:
        self.tree = tree
        self.resource_kinds = resource_kinds
        self.out: list[Diagnostic] = []
        self.path = ""

    def error(self, node: n.Node | tuple[int, int], message: str, hint: str | None = None) -> None:
        line, column = (node.line, node.column) if isinstance(node, n.Node) else node
        self.out.append(self.tree.diagnostic(self.path, line, column, message, hint))

    # -- shared ---------------------------------------------------------------

    def word_clause(self, owner: n.Node, clause: str, value: str | None, allowed: tuple[str, ...], required_hint: str | None) -> None:
        key = "family" if clause == "is" else clause
        pos = getattr(owner, "positions", {}).get(key, (owner.line, owner.column))
        if value is None:
            if required_hint:
                self.error(owner, f"{owner.kind} {owner.name} has no `{clause}`", required_hint)  # type: ignore[attr-defined]
            return
        if value not in allowed:
            hint = _suggest(value, allowed) or f"one of: {', '.join(allowed)}"
            self.error(pos, f"unknown {'family' if clause == 'is' else clause} `{value}`", hint)

    def fields(self, fields: list[n.FieldDecl], types: dict[str, n.TypeDef], what: str) -> None:
        seen: dict[str, n.FieldDecl] = {}
        for f in fields:
            if f.name in seen:
                self.error(f, f"duplicate field {f.name} in {what} (first at line {seen[f.name].line})")
                continue
            seen[f.name] = f
            base = f.type.base_name()
            if base not in n.BASE_TYPES and base not in types and base not in VALUE_TYPES:
                known = list(n.BASE_TYPES) + list(VALUE_TYPES) + list(types)
                domain = f"; the installed domains add {', '.join(sorted(VALUE_TYPES))}" if VALUE_TYPES else ""
                self.error(f.type, f"unknown type {base}", _suggest(base, known) or "base types are string, int, float, bool, json and object"
                           f"{domain}; declare others under `types:`")
                continue
            if f.default is not None:
                if n.iter_refs(f.default):
                    self.error(f.default, "a default cannot hold a {reference}")
                    continue
                problems = check_value(f.type, literal_value(f.default), list(types.values()))
                for p in problems:
                    where = f" at {p.path}" if p.path else ""
                    self.error(f.default, f"default of {f.name} does not match its type {f.type.render()}{where}: {p.message}")

    def connects(self, owner: n.Gene | n.Pathway | n.Topology) -> None:
        """Each `connects:` line marks one of the inputs as naming an external resource."""
        takes = [f.name for f in owner.takes]
        seen: set[str] = set()
        for c in owner.connects:
            if c.name in seen:
                self.error(c, f"{c.name} is listed twice in connects")
                continue
            seen.add(c.name)
            if c.name not in takes:
                hint = _suggest(c.name, takes) or "a connects: line names an input declared under takes:"
                self.error(c, f"connects names {c.name}, which {owner.name} does not take", hint)

    def refs(self, value: n.Value, scope: _Scope) -> None:
        for ref in n.iter_refs(value):
            self.ref(ref, scope)

    def ref(self, ref: n.Ref, scope: _Scope) -> None:
        if ref.step is not None:
            steps = scope.steps
            if steps is None:
                self.error(ref, f"{ref.render()}: step references are only valid inside a pathway")
                return
            target = steps.get(ref.step)
            if target is None:
                self.error(ref, f"{ref.render()}: there is no step {ref.step}")
                return
            if scope.current_step is not None and ref.step >= scope.current_step:
                self.error(ref, f"{ref.render()}: step {ref.step} does not run before step {scope.current_step}")
                return
            self.step_output_field(ref, target, str(ref.path[0]))
            return
        root = ref.root
        if not isinstance(root, str) or root not in scope.names:
            hint = _suggest(str(root), scope.names) or (f"known here: {', '.join(sorted(scope.names))}" if scope.names else None)
            self.error(ref, f"{ref.render()} refers to nothing this contract takes or produced", hint)

    def step_output_field(self, at: n.Node, step: n.Step, field: str) -> None:
        body = step.body
        if not isinstance(body, n.Call) or body.pathway:
            return
        gene = self.tree.genes.get(body.target)
        if gene is None or not gene.gives:
            return
        names = [g.name for g in gene.gives]
        if field not in names:
            self.error(at, f"step {step.number} ({gene.name}) gives no field {field}", _suggest(field, names) or f"it gives: {', '.join(names)}")

    def call_args(self, at: n.Node, target: n.Gene | n.Pathway, args: list[tuple[n.Node, str, n.Value]], scope: _Scope, what: str) -> None:
        takes = {f.name: f for f in target.takes}
        given: set[str] = set()
        types = target.types if isinstance(target, n.Gene) else []
        for node, name, value in args:
            if name in given:
                self.error(node, f"{name} is passed twice")
            given.add(name)
            field = takes.get(name)
            if field is None:
                self.error(node, f"{target.name} takes no parameter {name}", _suggest(name, takes) or f"it takes: {', '.join(takes) or 'nothing'}")
                continue
            self.refs(value, scope)
            var = _bare_loop_var(value, scope)
            if var is not None:
                for item in scope.loops[var]:
                    for p in check_value(field.type, item, types):
                        where = f" at {p.path}" if p.path else ""
                        self.error(value, f"{name} of {target.name} is {field.type.render()}{where} where {var} is {json.dumps(item)}: {p.message}")
            elif not n.iter_refs(value):
                for p in check_value(field.type, literal_value(value), types):
                    where = f" at {p.path}" if p.path else ""
                    self.error(value, f"{name} of {target.name} is {field.type.render()}{where}: {p.message}")
        missing = [f.name for f in target.takes if f.required and f.name not in given]
        if missing:
            self.error(at, f"{what} {target.name} is missing required parameter{'s' if len(missing) > 1 else ''} {', '.join(missing)}")

    def verify(self, verify: n.Verify, scope: _Scope) -> None:
        windows = [i for i in verify.items if isinstance(i, n.Within)]
        if not windows:
            self.error(verify, "verify has no `within` window", "end the block with a line such as `within 30s`")
        for extra in windows[1:]:
            self.error(extra, "verify has more than one `within` window")
        self.verify_items(verify.items, scope)

    def verify_items(self, items: list[n.VerifyItem], scope: _Scope) -> None:
        for item in items:
            if isinstance(item, n.VerifyFor):
                self.refs(item.iterable, scope)
                loops = {k: v for k, v in scope.loops.items() if k != item.var}
                if isinstance(item.iterable, n.ListValue) and not n.iter_refs(item.iterable):
                    loops[item.var] = list(literal_value(item.iterable))
                inner = _Scope(scope.names | {item.var}, scope.steps, scope.current_step, loops)
                self.verify_items(item.items, inner)
            elif isinstance(item, n.Check):
                gene = self.tree.genes.get(item.locus)
                if gene is None:
                    if not self.tree.is_unparsed(item.locus):
                        self.error(item, f"unknown locus {item.locus} in verify", _suggest(item.locus, self.tree.genes))
                    continue
                if gene.family not in (None, "diagnostic"):
                    self.error(item, f"verify runs diagnostics; {gene.name} is a {gene.family} gene")
                self.call_args(item, gene, [(a, a.name, a.value) for a in item.args], scope, "check")

    def policies(self, policies: list[n.Policy]) -> None:
        for p in policies:
            if p.text not in n.POLICIES:
                self.error(p, f"unknown failure policy `{p.text}`", _suggest(p.text, n.POLICIES) or f"one of: {', '.join(n.POLICIES)}")
        texts = {p.text for p in policies}
        if "preserve what works" in texts and texts & {"rollback all", "rollback completed steps"}:
            preserve = next(p for p in policies if p.text == "preserve what works")
            self.error(preserve, "`preserve what works` contradicts rolling back")

    # -- definitions ------------------------------------------------------------

    def gene(self, gene: n.Gene) -> None:
        self.word_clause(gene, "is", gene.family, n.FAMILIES, "add `is configuration`, `is diagnostic` or `is transform`")
        self.word_clause(gene, "risk", gene.risk, n.RISKS, "add `risk none|low|medium|high|critical`")
        types: dict[str, n.TypeDef] = {}
        for t in gene.types:
            if t.name in VALUE_TYPES:
                self.error(t, f"type {t.name} is already one of the installed domains' types", VALUE_TYPES[t.name].description)
                continue
            if t.name in types or t.name in n.BASE_TYPES:
                self.error(t, f"duplicate type {t.name}")
                continue
            types[t.name] = t
        for t in gene.types:
            self.fields(t.fields, types, f"type {t.name}")
        self.fields(gene.takes, types, "takes")
        self.fields(gene.gives, types, "gives")
        gives = {f.name for f in gene.gives}
        for mode in gene.fails_when:
            for key in mode.assignments:
                if key not in gives:
                    self.error(mode, f"failure outcome sets {key}, which {gene.name} does not give", _suggest(key, gives))
        for feed in gene.feeds:
            if gene.family != "diagnostic":
                self.error(feed, "only diagnostic genes feed fitness", "move `feeds:` to the diagnostic that observes this gene")
            target = self.tree.genes.get(feed.locus)
            if target is None:
                if not self.tree.is_unparsed(feed.locus):
                    self.error(feed, f"unknown locus {feed.locus} in feeds", _suggest(feed.locus, self.tree.genes))
            elif target.family == "diagnostic":
                self.error(feed, f"{feed.locus} is a diagnostic; feeds score configuration genes")
            if feed.timescale not in n.TIMESCALES:
                self.error(feed, f"unknown timescale `{feed.timescale}`", _suggest(feed.timescale, n.TIMESCALES) or f"one of: {', '.join(n.TIMESCALES)}")
        if gene.verify is not None:
            self.verify(gene.verify, _Scope({f.name for f in gene.takes} | gives))
        if gene.verifies and gene.family not in (None, "diagnostic"):
            self.error(gene.verifies[0], f"prose bullets in `verify:` describe what a diagnostic checks; {gene.name} is a {gene.family} gene", "move the prose to `after:`, or write checks and a `within` window")
        self.connects(gene)

    def examples(self, gene: n.Gene) -> None:
        from sggit.contract.validate import Validator

        takes = Validator(gene.takes, gene.types)
        gives = {f.name: f for f in gene.gives}
        for ex in gene.examples:
            _, problems = takes.validate(ex.input)
            for p in problems:
                self.error(ex, f"example input: {p}")
            for key, value in ex.output.items():
                field = gives.get(key)
                if field is None:
                    self.error(ex, f"example output: {gene.name} gives no field {key}", _suggest(key, gives))
                    continue
                for p in check_value(field.type, value, gene.types):
                    where = f"{key}{'.' + p.path if p.path and not p.path.startswith('[') else p.path}"
                    self.error(ex, f"example output: {where}: {p.message}")

    def pathway(self, pathway: n.Pathway) -> None:
        if pathway.risk is not None:
            self.word_clause(pathway, "risk", pathway.risk, n.RISKS, None)
        self.fields(pathway.takes, {}, "takes")
        self.fields(pathway.gives, {}, "gives")
        takes = {f.name for f in pathway.takes}
        steps: dict[int, n.Step] = {}
        last = 0
        for step in pathway.steps:
            if step.number < 1:
                self.error(step, "steps are numbered from 1")
                continue
            if step.number in steps:
                self.error(step, f"step {step.number} is numbered twice")
                continue
            if step.number <= last:
                self.error(step, f"step {step.number} comes after step {last}", "number steps in increasing order")
            last = step.number
            steps[step.number] = step
        if not pathway.steps:
            self.error(pathway, f"pathway {pathway.name} has no steps")
        for step in pathway.steps:
            scope = _Scope(set(takes), steps, step.number)
            body = step.body
            if isinstance(body, n.ForStep):
                self.refs(body.iterable, scope)
                scope = _Scope(scope.names | {body.var}, steps, step.number)
                for call in body.body:
                    self.call(call, scope)
            elif isinstance(body, n.WhenStep):
                target = steps.get(body.step)
                if target is None:
                    self.error(body, f"when: there is no step {body.step}")
                elif body.step >= step.number:
                    self.error(body, f"when: step {body.step} does not run before step {step.number}")
                else:
                    self.step_output_field(body, target, body.path[0])
                seen: set[bool] = set()
                for branch in body.branches:
                    if branch.when in seen:
                        self.error(branch, f"two `{str(branch.when).lower()}` branches")
                    seen.add(branch.when)
                    self.call(branch.call, scope, either=True)
            else:
                self.call(body, scope)
        self.requirements(pathway, steps)
        self.connects(pathway)
        if pathway.verify is not None:
            # verify runs after every step, so it may read any step's output
            self.verify(pathway.verify, _Scope(set(takes), steps, None))
        self.policies(pathway.on_failure)

    def call(self, call: n.Call, scope: _Scope, either: bool = False) -> None:
        target: n.Gene | n.Pathway | None
        if call.pathway or (either and call.target in self.tree.pathways):
            target = self.tree.pathways.get(call.target)
            if target is None and self.tree.is_unparsed(call.target):
                return
            if target is None:
                hint = "drop the `->`: it runs a pathway, and this is a gene" if call.target in self.tree.genes else _suggest(call.target, self.tree.pathways)
                self.error(call, f"unknown pathway {call.target}", hint)
                return
        else:
            target = self.tree.genes.get(call.target)
            if target is None and self.tree.is_unparsed(call.target):
                return
            if target is None:
                hint = f"write `-> {call.target}` to run a pathway" if call.target in self.tree.pathways else _suggest(call.target, self.tree.genes)
                self.error(call, f"unknown locus {call.target}", hint)
                return
        self.call_args(call, target, [(p, p.name, p.value) for p in call.params], scope, "step" if not call.pathway else "pathway")

    def requirements(self, pathway: n.Pathway, steps: dict[int, n.Step]) -> None:
        graph: dict[int, set[int]] = {s: set() for s in steps}
        for req in pathway.requires:
            for num in [req.step, *req.needs]:
                if num not in steps:
                    self.error(req, f"requires: there is no step {num}", f"steps are {', '.join(map(str, sorted(steps)))}" if steps else None)
            if req.step in req.needs:
                self.error(req, f"step {req.step} cannot need itself")
            if req.step in graph:
                graph[req.step].update(x for x in req.needs if x in steps)
        cycle = _find_cycle(graph)
        if cycle:
            req = next(r for r in pathway.requires if r.step in cycle)
            self.error(req, "requires: dependency cycle " + " -> ".join(f"step {s}" for s in cycle))

    def topology(self, topo: n.Topology) -> None:
        if topo.risk is not None:
            self.word_clause(topo, "risk", topo.risk, n.RISKS, None)
        self.fields(topo.takes, {}, "takes")
        takes = {f.name for f in topo.takes}
        resources: dict[str, n.Resource] = {}
        for res in topo.has:
            if res.name in resources:
                self.error(res, f"duplicate resource {res.name}")
                continue
            resources[res.name] = res
        if not topo.has:
            self.error(topo, f"topology {topo.name} has no `has:` resources")
        scope = _Scope(takes)
        for res in topo.has:
            if res.kind is None:
                self.error(res, f"resource {res.name} does not say what it is", f"add `is {' | '.join(self.resource_kinds)}`")
                continue
            props = self.resource_kinds.get(res.kind)
            if props is None:
                self.error((res.kind_line, res.column + 5), f"unknown resource kind `{res.kind}`", _suggest(res.kind, self.resource_kinds) or f"one of: {', '.join(self.resource_kinds)}")
                continue
            seen: set[str] = set()
            for prop in res.properties:
                if prop.name in seen:
                    self.error(prop, f"property {prop.name} is set twice")
                seen.add(prop.name)
                if prop.name not in props:
                    self.error(prop, f"a {res.kind} has no property {prop.name}", _suggest(prop.name, props) or f"it accepts: {', '.join(props)}")
                    continue
                if not prop.values:
                    self.error(prop, f"property {prop.name} needs a value")
                for value in prop.values:
                    self.refs(value, scope)
                if props[prop.name]:
                    for value in prop.values:
                        if isinstance(value, n.Word) and value.value not in resources:
                            self.error(value, f"{prop.name} refers to unknown resource {value.value}", _suggest(value.value, resources))
                        elif isinstance(value, n.Word) and value.value == res.name:
                            self.error(value, f"resource {res.name} cannot refer to itself")
        if topo.verify is not None:
            self.verify(topo.verify, scope)
        self.connects(topo)
        self.policies(topo.on_failure)

    def phenotype(self, ph: n.Phenotype) -> None:
        if ph.topology is None:
            self.error(ph, f"phenotype {ph.name} does not say which topology it is for", "add `for TOPOLOGY`")
            return
        topo = self.tree.topologies.get(ph.topology)
        pos = ph.positions.get("for", (ph.line, ph.column))
        if topo is None:
            if self.tree.is_unparsed(ph.topology):
                return
            self.error(pos, f"phenotype {ph.name} is for unknown topology {ph.topology}", _suggest(ph.topology, self.tree.topologies))
            return
        for problem in binding_problems({b.name: literal_value(b.value) for b in ph.bindings if not n.iter_refs(b.value)}, topo):
            name = problem.split(":", 1)[0]
            node = next((b for b in ph.bindings if b.name == name), ph)
            self.error(node, problem)

    def run(self) -> list[Diagnostic]:
        for table in (self.tree.genes, self.tree.pathways, self.tree.topologies, self.tree.phenotypes):
            for definition in table.values():
                self.path = self.tree.path_of(definition)
                getattr(self, definition.kind)(definition)
                if isinstance(definition, n.Gene):
                    self.examples(definition)
        self.composition_cycles()
        return self.out

    def composition_cycles(self) -> None:
        graph = {
            name: {c.target for s in p.steps for c in s.calls() if c.target in self.tree.pathways}
            for name, p in self.tree.pathways.items()
        }
        cycle = _find_cycle(graph)
        if cycle:
            first = self.tree.pathways[cycle[0]]
            self.path = self.tree.path_of(first)
            self.error(first, "pathways compose in a cycle: " + " -> ".join(cycle))


def binding_problems(bindings: dict[str, object], topology: n.Topology) -> list[str]:
    """Why these hardware bindings do not satisfy a topology's `takes` (empty if they do)."""
    from sggit.contract.validate import Validator

    _, violations = Validator(topology.takes).validate(bindings)
    return [f"{v.path}: {v.message}" if v.path else v.message for v in violations]


def _find_cycle(graph: dict) -> list:
    state: dict = {}
    stack: list = []

    def visit(node) -> list | None:  # type: ignore[no-untyped-def]
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ()), key=str):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt in graph and nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph, key=str):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def check_tree(tree: ContractTree, resource_kinds: ResourceKinds | None = None) -> list[Diagnostic]:
    """Every problem of the tree; topology resources are judged against `resource_kinds`
    (default: the kinds registered with `register_resource_kinds`)."""
    return _Checker(tree, RESOURCE_KINDS if resource_kinds is None else resource_kinds).run()
