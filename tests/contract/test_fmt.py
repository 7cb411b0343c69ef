"""The formatter: canonical, idempotent, meaning-preserving, comment-keeping."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sggit.contract import nodes as n
from sggit.contract.fmt import format_document
from sggit.contract.parser import parse_text
from sggit.contract.tree import sg_files
from sggit.shipped import shipped_root
from tests.contract.helpers import sg


def test_shipped_contracts_are_canonical() -> None:
    for path in sg_files([shipped_root() / "contracts"]):
        text = path.read_text()
        assert format_document(parse_text(text, str(path))) == text, path


def test_messy_layout_becomes_canonical_and_keeps_comments() -> None:
    messy = sg("""
        # header comment
        gene  g   # about g
            is transform
            risk none
            takes:
                  a int "first"   # why a
                  # before b
                  longer_name    string = "x"
            gives:
                  r   int   "result"
            # before examples
            examples:
                  -   {"a":1}  ->  {"r":2}
        """)
    out = format_document(parse_text(messy))
    assert out == sg("""
        # header comment
        gene g  # about g
          is transform
          risk none

          takes:
            a            int           "first"  # why a
            # before b
            longer_name  string = "x"

          gives:
            r  int  "result"

          # before examples
          examples:
            - {"a": 1} -> {"r": 2}
        """)
    assert format_document(parse_text(out)) == out


NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda s: s not in {"true", "false", "null"})
TEXT = st.text(alphabet=string.ascii_letters + string.digits + " ,.;()'-", min_size=1, max_size=40).map(str.strip).filter(
    lambda s: bool(s) and not s.startswith(("-", "#")) and "->" not in s
)


@st.composite
def type_refs(draw: st.DrawFn, depth: int = 0) -> n.TypeRef:
    node = n.TypeRef(kind="named", name=draw(st.sampled_from(n.BASE_TYPES)))
    for _ in range(draw(st.integers(0, 2))):
        choice = draw(st.sampled_from(["opt", "list", "sized"]))
        if choice == "opt" and node.kind != "optional":
            node = n.TypeRef(kind="optional", of=node)
        elif choice == "list":
            node = n.TypeRef(kind="list", of=node)
        else:
            lo = draw(st.integers(0, 3))
            hi = draw(st.one_of(st.none(), st.integers(lo, lo + 3)))
            node = n.TypeRef(kind="list", of=node, min_items=lo, max_items=hi)
    return node


values = st.recursive(
    st.one_of(
        st.builds(n.Scalar, value=st.one_of(st.integers(-1000, 1000), st.booleans(), st.none(), TEXT)),
        st.builds(n.Scalar, value=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).filter(lambda f: f != int(f))),
        st.builds(n.Word, value=st.from_regex(r"[a-z][a-z0-9]{0,5}-[a-z0-9]{1,5}", fullmatch=True)),
        st.builds(n.Template, parts=st.lists(st.one_of(st.builds(n.Ref, path=st.lists(NAMES, min_size=1, max_size=2))), min_size=1, max_size=1)),
    ),
    lambda inner: st.builds(n.ListValue, items=st.lists(inner, max_size=3)),
    max_leaves=5,
)


def fields(draw: st.DrawFn) -> list[n.FieldDecl]:
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    return [
        n.FieldDecl(name=name, type=draw(type_refs()), default=draw(st.one_of(st.none(), values.filter(lambda v: not n.iter_refs(v)))), description=draw(st.one_of(st.none(), TEXT)))
        for name in names
    ]


@st.composite
def genes(draw: st.DrawFn) -> n.Gene:
    sections = ["is", "risk", "does", "takes", "gives", "before", "fails_when", "verify", "examples"]
    chosen = draw(st.lists(st.sampled_from(sections), min_size=1, max_size=len(sections), unique=True))
    g = n.Gene(name=draw(NAMES), sections=chosen)
    if "is" in chosen:
        g.family = draw(st.sampled_from(n.FAMILIES))
    if "risk" in chosen:
        g.risk = draw(st.sampled_from(n.RISKS))
    if "does" in chosen:
        g.does = n.Prose(text="\n".join(draw(st.lists(TEXT, min_size=1, max_size=3))))
    if "takes" in chosen:
        g.takes = fields(draw)
    if "gives" in chosen:
        g.gives = fields(draw)
    if "before" in chosen:
        g.before = [n.Bullet(text=t) for t in draw(st.lists(TEXT, min_size=1, max_size=3))]
    if "fails_when" in chosen:
        g.fails_when = [n.FailureMode(condition=draw(TEXT), outcome="error")]
    if "verify" in chosen:
        args = [n.Arg(name=k, value=v) for k, v in draw(st.dictionaries(NAMES, values, max_size=2)).items()]
        g.verify = n.Verify(items=[n.Check(locus=draw(NAMES), args=args), n.Within(duration=n.Duration(amount=draw(st.integers(1, 60)), unit=draw(st.sampled_from(["ms", "s", "m"]))), all=draw(st.booleans()))])
    if "examples" in chosen:
        json_values = st.recursive(st.one_of(st.integers(), st.booleans(), st.none(), st.text(max_size=5)), lambda i: st.lists(i, max_size=2), max_leaves=3)
        g.examples = [n.Example(input=draw(st.dictionaries(NAMES, json_values, max_size=2)), output=draw(st.dictionaries(NAMES, json_values, max_size=2)))]
    return g


@st.composite
def pathways(draw: st.DrawFn) -> n.Pathway:
    steps = []
    for i in range(1, draw(st.integers(1, 4)) + 1):
        kind = draw(st.sampled_from(["call", "for", "when"]))
        call = n.Call(target=draw(NAMES), pathway=draw(st.booleans()), params=[n.Param(name=k, value=v) for k, v in draw(st.dictionaries(NAMES, values, max_size=2)).items()])
        if kind == "call" or i == 1:
            body: n.Call | n.ForStep | n.WhenStep = call
        elif kind == "for":
            body = n.ForStep(var=draw(NAMES), iterable=n.Template(parts=[n.Ref(path=[draw(NAMES)])]), body=[call])
        else:
            plain = call.model_copy(update={"pathway": False})
            body = n.WhenStep(step=1, path=[draw(NAMES)], branches=[n.Branch(when=draw(st.booleans()), call=plain)])
        steps.append(n.Step(number=i, body=body))
    sections = ["steps"]
    p = n.Pathway(name=draw(NAMES), steps=steps)
    if len(steps) > 1 and draw(st.booleans()):
        p.requires = [n.Requirement(step=len(steps), needs=list(range(1, len(steps))))]
        sections.append("requires")
    if draw(st.booleans()):
        p.on_failure = [n.Policy(text=t) for t in draw(st.lists(st.sampled_from(n.POLICIES), min_size=1, max_size=2, unique=True))]
        sections.append("on_failure")
    p.sections = sections
    return p


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(genes(), pathways()), min_size=1, max_size=3))
def test_format_then_parse_gives_the_same_ast(definitions: list) -> None:
    doc = n.Document(path="gen.sg", definitions=definitions)
    text = format_document(doc)
    reparsed = parse_text(text, "gen.sg")
    assert [d.semantic() for d in reparsed.definitions] == [d.semantic() for d in definitions], text
    assert format_document(reparsed) == text
