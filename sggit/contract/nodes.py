"""The contract AST: pydantic models that keep their source positions.

Every node carries `line` and `column` (1-based) so that semantic checks, the
runtime and the mutation engines can point back at the contract text. Positions
are excluded from `semantic()` dumps, which is what "the same contract" means
(the formatter's round trip compares those).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FAMILIES = ("configuration", "diagnostic", "transform")
RISKS = ("none", "low", "medium", "high", "critical")
TIMESCALES = ("immediate", "convergence", "resilience")
BASE_TYPES = ("string", "int", "float", "bool", "json", "object")
POLICIES = (
    "rollback completed steps",
    "rollback all",
    "report partial",
    "preserve what works",
    "report what failed",
)


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: int = 0
    column: int = 0

    def semantic(self) -> Any:
        """The node without positions: what the contract means, not where it was written."""
        return _strip(self.model_dump())


_POSITION_KEYS = frozenset({"line", "column", "end_line", "positions", "kind_line", "section_lines"})


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _POSITION_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


# ---- types -------------------------------------------------------------------


class TypeRef(Node):
    """`string`, `mac_flap`, `T?`, `T[]`, `T[3..]`, `T[1..4]`, nested as written."""

    kind: Literal["named", "list", "optional"]
    name: str | None = None
    of: TypeRef | None = None
    min_items: int | None = None
    max_items: int | None = None

    def render(self) -> str:
        if self.kind == "named":
            return str(self.name)
        assert self.of is not None
        inner = self.of.render()
        if self.kind == "optional":
            return inner + "?"
        if self.min_items is None and self.max_items is None:
            return inner + "[]"
        upper = "" if self.max_items is None else str(self.max_items)
        return f"{inner}[{self.min_items or 0}..{upper}]"

    def base_name(self) -> str:
        node = self
        while node.kind != "named":
            assert node.of is not None
            node = node.of
        return str(node.name)

    @property
    def is_optional(self) -> bool:
        return self.kind == "optional"


# ---- values ------------------------------------------------------------------


class Ref(Node):
    """`{name}`, `{nic.0}`, `{a.b}`, or `{step 2.field}`: a path into known values."""

    step: int | None = None
    path: list[str | int]

    def render(self) -> str:
        parts = ".".join(str(p) for p in self.path)
        return f"{{step {self.step}.{parts}}}" if self.step is not None else f"{{{parts}}}"

    @property
    def root(self) -> str | int:
        return self.path[0]


class Scalar(Node):
    kind: Literal["scalar"] = "scalar"
    value: str | bool | int | float | None


class Word(Node):
    """A bare word such as `active-backup`; a string value written without quotes."""

    kind: Literal["word"] = "word"
    value: str


class Template(Node):
    """A value made of literal text and references, such as `storage.{vlan}`."""

    kind: Literal["template"] = "template"
    parts: list[str | Ref]

    @property
    def single_ref(self) -> Ref | None:
        """`{x}` alone keeps the referenced value's type; mixed text makes a string."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Ref):
            return self.parts[0]
        return None


class ListValue(Node):
    kind: Literal["list"] = "list"
    items: list[Value]


Value = Annotated[Scalar | Word | Template | ListValue, Field(discriminator="kind")]
ListValue.model_rebuild()


def iter_refs(value: Value) -> list[Ref]:
    if isinstance(value, Template):
        return [p for p in value.parts if isinstance(p, Ref)]
    if isinstance(value, ListValue):
        return [r for item in value.items for r in iter_refs(item)]
    return []


# ---- shared sections ---------------------------------------------------------


class FieldDecl(Node):
    name: str
    type: TypeRef
    default: Value | None = None
    description: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None and not self.type.is_optional


class TypeDef(Node):
    name: str
    fields: list[FieldDecl]


class Prose(Node):
    """Free text kept verbatim (dedented), for humans and mutation prompts alike."""

    text: str
    end_line: int = 0


class Bullet(Node):
    text: str


class FailureMode(Node):
    """`- condition -> success=false` or `- condition -> error`."""

    condition: str
    outcome: Literal["result", "error"]
    assignments: dict[str, Any] = Field(default_factory=dict)


class Feed(Node):
    locus: str
    timescale: str


class Connect(Node):
    """`url  https  "CSV endpoint"`: the input `url` names an external resource reached over https."""

    name: str
    protocol: str
    description: str | None = None


class Example(Node):
    input: dict[str, Any]
    output: dict[str, Any]
    given: list[list[Any]] = Field(default_factory=list)  # host state: calls made before the example runs


class Arg(Node):
    name: str
    value: Value


class Duration(Node):
    amount: float
    unit: Literal["ms", "s", "m", "h"]

    @property
    def seconds(self) -> float:
        return self.amount * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[self.unit]

    def render(self) -> str:
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{amount}{self.unit}"


class Check(Node):
    kind: Literal["check"] = "check"
    locus: str
    args: list[Arg] = Field(default_factory=list)


class VerifyFor(Node):
    kind: Literal["for"] = "for"
    var: str
    iterable: Value
    items: list[VerifyItem]


class Within(Node):
    kind: Literal["within"] = "within"
    duration: Duration
    all: bool = False


VerifyItem = Annotated[Check | VerifyFor | Within, Field(discriminator="kind")]
VerifyFor.model_rebuild()


class Verify(Node):
    items: list[VerifyItem]

    @property
    def window(self) -> Duration | None:
        for item in self.items:
            if isinstance(item, Within):
                return item.duration
        return None

    def checks(self) -> list[Check]:
        """Every check, including those inside `for` blocks (unexpanded)."""
        found: list[Check] = []

        def walk(items: list[Any]) -> None:
            for item in items:
                if isinstance(item, Check):
                    found.append(item)
                elif isinstance(item, VerifyFor):
                    walk(item.items)

        walk(self.items)
        return found


class Policy(Node):
    text: str


# ---- definitions -------------------------------------------------------------


class Gene(Node):
    kind: Literal["gene"] = "gene"
    name: str
    domain: str | None = None
    family: str | None = None
    risk: str | None = None
    does: Prose | None = None
    takes: list[FieldDecl] = Field(default_factory=list)
    gives: list[FieldDecl] = Field(default_factory=list)
    types: list[TypeDef] = Field(default_factory=list)
    before: list[Bullet] = Field(default_factory=list)
    after: list[Bullet] = Field(default_factory=list)
    fails_when: list[FailureMode] = Field(default_factory=list)
    unhealthy_when: list[Bullet] = Field(default_factory=list)
    feeds: list[Feed] = Field(default_factory=list)
    verify: Verify | None = None
    verifies: list[Bullet] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)
    connects: list[Connect] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)
    positions: dict[str, tuple[int, int]] = Field(default_factory=dict)
    section_lines: dict[str, int] = Field(default_factory=dict)

    def type_table(self) -> dict[str, TypeDef]:
        return {t.name: t for t in self.types}


class Param(Node):
    name: str
    value: Value


class Call(Node):
    """Run a locus (`bridge_create`) or, with `->`, a pathway."""

    kind: Literal["call"] = "call"
    target: str
    pathway: bool = False
    params: list[Param] = Field(default_factory=list)


class ForStep(Node):
    kind: Literal["for"] = "for"
    var: str
    iterable: Value
    body: list[Call]


class Branch(Node):
    when: bool
    call: Call


class WhenStep(Node):
    """Run a branch chosen by an earlier step's output (`when step 1.healthy:`)."""

    kind: Literal["when"] = "when"
    step: int
    path: list[str]
    branches: list[Branch]


StepBody = Annotated[Call | ForStep | WhenStep, Field(discriminator="kind")]


class Step(Node):
    number: int
    body: StepBody

    def calls(self) -> list[Call]:
        body = self.body
        if isinstance(body, Call):
            return [body]
        if isinstance(body, ForStep):
            return list(body.body)
        return [b.call for b in body.branches]


class Requirement(Node):
    step: int
    needs: list[int]


class Pathway(Node):
    kind: Literal["pathway"] = "pathway"
    name: str
    domain: str | None = None
    risk: str | None = None
    does: Prose | None = None
    takes: list[FieldDecl] = Field(default_factory=list)
    gives: list[FieldDecl] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    requires: list[Requirement] = Field(default_factory=list)
    verify: Verify | None = None
    on_failure: list[Policy] = Field(default_factory=list)
    connects: list[Connect] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)
    positions: dict[str, tuple[int, int]] = Field(default_factory=dict)
    section_lines: dict[str, int] = Field(default_factory=dict)

    def step(self, number: int) -> Step | None:
        for step in self.steps:
            if step.number == number:
                return step
        return None

    def dependencies(self) -> dict[int, set[int]]:
        deps: dict[int, set[int]] = {s.number: set() for s in self.steps}
        for req in self.requires:
            deps.setdefault(req.step, set()).update(req.needs)
        return deps


class Property(Node):
    name: str
    values: list[Value] = Field(default_factory=list)


class Resource(Node):
    name: str
    kind: str | None = None
    kind_line: int = 0
    properties: list[Property] = Field(default_factory=list)
    order: list[str] = Field(default_factory=list)

    def property(self, name: str) -> Property | None:
        for prop in self.properties:
            if prop.name == name:
                return prop
        return None


class Topology(Node):
    kind: Literal["topology"] = "topology"
    name: str
    domain: str | None = None
    risk: str | None = None
    does: Prose | None = None
    takes: list[FieldDecl] = Field(default_factory=list)
    has: list[Resource] = Field(default_factory=list)
    verify: Verify | None = None
    on_failure: list[Policy] = Field(default_factory=list)
    connects: list[Connect] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)
    positions: dict[str, tuple[int, int]] = Field(default_factory=dict)
    section_lines: dict[str, int] = Field(default_factory=dict)


class Binding(Node):
    name: str
    value: Value


class Phenotype(Node):
    kind: Literal["phenotype"] = "phenotype"
    name: str
    topology: str | None = None
    bindings: list[Binding] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)
    positions: dict[str, tuple[int, int]] = Field(default_factory=dict)
    section_lines: dict[str, int] = Field(default_factory=dict)


Definition = Annotated[Gene | Pathway | Topology | Phenotype, Field(discriminator="kind")]


class Comment(Node):
    text: str
    own_line: bool


class Document(Node):
    """One `.sg` file: its definitions, and its comments (kept for the formatter)."""

    path: str
    definitions: list[Definition] = Field(default_factory=list)
    comments: list[Comment] = Field(default_factory=list)
    # Names of the definitions that did not parse: references to them are not news.
    unparsed: list[str] = Field(default_factory=list)
