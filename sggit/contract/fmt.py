"""The canonical layout of `.sg` files.

Two-space indentation, aligned columns in field lists, one blank line between
sections, sections kept in the author's order. Output is rendered from the AST,
so formatting cannot change meaning; comments are carried over by source line.
"""

from __future__ import annotations

import json
from typing import Any

from sggit.contract import nodes as n

Line = tuple[int | None, str]  # (source line it came from, rendered text)

_HEADERS = {"is", "risk", "for"}
_TITLES = {
    "fails_when": "fails when",
    "unhealthy_when": "unhealthy when",
    "on_failure": "on failure",
    "verifies": "verify",
}


def render_value(value: n.Value) -> str:
    if isinstance(value, n.Scalar):
        v = value.value
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            text = repr(v)
            mantissa, e, exponent = text.partition("e")
            if "." not in mantissa:
                text = f"{mantissa}.0{e}{exponent}"
            return text
        if isinstance(v, int):
            return str(v)
        return json.dumps(v, ensure_ascii=False)
    if isinstance(value, n.Word):
        return value.value
    if isinstance(value, n.Template):
        return "".join(p.render() if isinstance(p, n.Ref) else p for p in value.parts)
    return "[" + ", ".join(render_value(v) for v in value.items) + "]"


class _Renderer:
    def __init__(self) -> None:
        self.lines: list[Line] = []

    def emit(self, src: int | None, indent: int, text: str) -> None:
        self.lines.append((src, " " * indent + text if text else ""))

    def blank(self) -> None:
        if self.lines and self.lines[-1][1] != "":
            self.lines.append((None, ""))

    # -- pieces
    def fields(self, fields: list[n.FieldDecl], indent: int) -> None:
        names = max(len(f.name) for f in fields)
        types = [f.type.render() + (f" = {render_value(f.default)}" if f.default is not None else "") for f in fields]
        width = max(len(t) for t in types)
        for f, t in zip(fields, types, strict=False):
            if f.description is None:
                text = f"{f.name.ljust(names)}  {t}"
            else:
                desc = json.dumps(f.description, ensure_ascii=False)
                text = f"{f.name.ljust(names)}  {t.ljust(width)}  {desc}"
            self.emit(f.line, indent, text)

    def prose(self, prose: n.Prose, indent: int) -> None:
        # Only the first line keeps its source line: comments among the prose are not
        # text, so they move below the block rather than split it.
        for i, text in enumerate(prose.text.split("\n")):
            self.emit(prose.line if i == 0 else None, indent, text)

    def bullets(self, items: list[n.Bullet], indent: int) -> None:
        for b in items:
            self.emit(b.line, indent, f"- {b.text}" if b.text else "-")

    def verify_items(self, items: list[n.VerifyItem], indent: int) -> None:
        for item in items:
            if isinstance(item, n.Check):
                args = "".join(f" {a.name}={render_value(a.value)}" for a in item.args)
                self.emit(item.line, indent, f"{item.locus}{args}")
            elif isinstance(item, n.VerifyFor):
                self.emit(item.line, indent, f"for {item.var} in {render_value(item.iterable)}:")
                self.verify_items(item.items, indent + 2)
            else:
                self.emit(item.line, indent, f"{'all ' if item.all else ''}within {item.duration.render()}")

    def call(self, call: n.Call, indent: int, branch: str = "") -> None:
        arrow = f"{branch} -> " if branch else ("-> " if call.pathway else "")
        self.emit(call.line, indent, f"{arrow}{call.target}")
        for p in call.params:
            self.emit(p.line, indent + 2, f"{p.name} = {render_value(p.value)}")

    def step(self, step: n.Step, indent: int) -> None:
        label = f"{step.number}. "
        body = step.body
        inner = indent + len(label)
        if isinstance(body, n.Call):
            self.emit(step.line, indent, label + ("-> " if body.pathway else "") + body.target)
            for p in body.params:
                self.emit(p.line, inner + 2, f"{p.name} = {render_value(p.value)}")
        elif isinstance(body, n.ForStep):
            self.emit(step.line, indent, f"{label}for {body.var} in {render_value(body.iterable)}:")
            for call in body.body:
                self.call(call, inner + 2)
        else:
            path = ".".join(body.path)
            self.emit(step.line, indent, f"{label}when step {body.step}.{path}:")
            for branch in body.branches:
                self.call(branch.call, inner + 2, branch="true" if branch.when else "false")

    def section(self, node: Any, name: str, indent: int) -> None:
        value: Any = getattr(node, "family" if name == "is" else name, None)
        header_line = node.section_lines.get(name)
        if name in ("is", "risk"):
            line = node.positions.get("family" if name == "is" else name, (None,))[0]
            self.emit(line, indent, f"{name} {value}")
            return
        if name == "verifies":
            header_line = node.section_lines.get("verify")
        self.blank()
        self.emit(header_line, indent, f"{_TITLES.get(name, name)}:")
        body = indent + 2
        if name == "does":
            self.prose(value, body)
        elif name in ("takes", "gives"):
            self.fields(value, body)
        elif name == "types":
            for t in value:
                self.emit(t.line, body, f"{t.name}:")
                self.fields(t.fields, body + 2)
        elif name in ("before", "after", "unhealthy_when", "verifies"):
            self.bullets(value, body)
        elif name == "fails_when":
            for mode in value:
                outcome = "error" if mode.outcome == "error" else ", ".join(f"{k}={json.dumps(v)}" for k, v in mode.assignments.items())
                self.emit(mode.line, body, f"- {mode.condition} -> {outcome}")
        elif name == "examples":
            for ex in value:
                given = f"given {json.dumps(ex.given, ensure_ascii=False)} " if ex.given else ""
                self.emit(ex.line, body, f"- {given}{json.dumps(ex.input, ensure_ascii=False)} -> {json.dumps(ex.output, ensure_ascii=False)}")
        elif name == "feeds":
            width = max(len(f.locus) for f in value)
            for f in value:
                self.emit(f.line, body, f"{f.locus.ljust(width)}  {f.timescale}")
        elif name == "connects":
            names = max(len(c.name) for c in value)
            protocols = max(len(c.protocol) for c in value)
            for c in value:
                text = f"{c.name.ljust(names)}  {c.protocol}"
                if c.description is not None:
                    text = f"{text.ljust(names + 2 + protocols)}  {json.dumps(c.description, ensure_ascii=False)}"
                self.emit(c.line, body, text)
        elif name == "verify":
            self.verify_items(value.items, body)
        elif name == "steps":
            for i, step in enumerate(value):
                if i:
                    self.blank()
                self.step(step, body)
        elif name == "requires":
            for req in value:
                needs = ", ".join(f"step {x}" for x in req.needs)
                self.emit(req.line, body, f"step {req.step} needs {needs}")
        elif name == "on_failure":
            for p in value:
                self.emit(p.line, body, p.text)
        elif name == "has":
            for i, res in enumerate(value):
                if i:
                    self.blank()
                self.emit(res.line, body, f"{res.name}:")
                props = {p.name: p for p in res.properties}
                for key in res.order:
                    if key == "is":
                        self.emit(res.kind_line, body + 2, f"is {res.kind}")
                    else:
                        prop = props[key]
                        values = "".join(f" {render_value(v)}" for v in prop.values)
                        self.emit(prop.line, body + 2, f"{prop.name}{values}")

    def definition(self, d: Any) -> None:
        domain = getattr(d, "domain", None)
        self.emit(d.line, 0, f"{d.kind} {d.name}" + (f" for {domain}" if domain else ""))
        if isinstance(d, n.Phenotype):
            bindings = {b.name: b for b in d.bindings}
            for sec in d.sections:
                if sec == "for":
                    self.emit(d.positions.get("topology", (None,))[0], 2, f"for {d.topology}")
                else:
                    b = bindings[sec.split(":", 1)[1]]
                    self.emit(b.line, 2, f"{b.name} = {render_value(b.value)}")
            return
        previous_header = True
        for sec in d.sections:
            if sec in _HEADERS and not previous_header:
                self.blank()
            self.section(d, sec, 2)
            previous_header = sec in _HEADERS


def _merge_comments(lines: list[Line], comments: list[n.Comment]) -> list[str]:
    """Put each comment back: trailing ones on their line, others before what followed them."""
    trailing: dict[int, str] = {}
    own: list[n.Comment] = []
    rendered_sources = {src for src, _ in lines if src is not None}
    for c in comments:
        if not c.own_line and c.line in rendered_sources and c.line not in trailing:
            trailing[c.line] = c.text
        else:
            own.append(c)
    own.sort(key=lambda c: c.line)
    out: list[str] = []
    used_trailing: set[int] = set()
    k = 0
    for src, text in lines:
        if src is not None:
            pending = []
            while k < len(own) and own[k].line < src:
                pending.append(own[k])
                k += 1
            if pending:
                indent = len(text) - len(text.lstrip(" ")) if text else 0
                # a comment block sits above the blank line that separates sections
                insert_at = len(out)
                while insert_at > 0 and out[insert_at - 1] == "" and pending[0].line > src - 1 - 0 and False:
                    insert_at -= 1
                for c in pending:
                    out.insert(insert_at, " " * indent + c.text)
                    insert_at += 1
        if src is not None and src in trailing and src not in used_trailing and text:
            text = f"{text}  {trailing[src]}"
            used_trailing.add(src)
        out.append(text)
    for c in own[k:]:
        out.append(c.text)
    return out


def format_document(doc: n.Document) -> str:
    r = _Renderer()
    for i, d in enumerate(doc.definitions):
        if i:
            r.blank()
        r.definition(d)
    lines = _merge_comments(r.lines, doc.comments)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""
