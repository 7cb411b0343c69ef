"""Text to AST: the lark LALR parser, its indentation postlexer, and the tree builder.

A file is split at its top-level lines (a line that starts in column 1) and each
definition is parsed on its own, so one broken definition does not hide the
errors of the others. Line numbers stay those of the file.
"""

from __future__ import annotations

import builtins
import difflib
import json
import math
import re
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TypedDict

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.lark import PostLex

from sggit.contract import nodes as n
from sggit.contract.errors import ContractError, Diagnostic
from sggit.contract.parser_cache import load_parser
from sggit.jsonlimits import long_integer, nesting_depth, too_deep, too_long

MAX_TYPE_DEPTH = 32
"""Suffixes (`[]`, `?`, `[1..4]`) one type may carry: the validators recurse once per suffix."""

MAX_WINDOW_TEXT = "1h"
MAX_WINDOW = 3600.0
"""The longest `within` window, in seconds: a gene's one `sleep` may be no longer, and a longer deadline
polls its checks (every 5 s at most) for a run nobody waits for."""


class _LocatedError(Exception):
    def __init__(self, line: int, column: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.line, self.column, self.message, self.hint = line, column, message, hint


class _Indenter(PostLex):
    """Turns leading whitespace into _INDENT/_DEDENT and collects comments.

    Comments ride inside _NL tokens (so a comment line never breaks a block); this
    is where they are pulled out for the formatter.
    """

    always_accept = ("_NL",)
    tab_len = 8

    def __init__(self) -> None:
        self.comments: list[n.Comment] = []

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        levels = [0]
        parens = 0
        opened: list[Token] = []
        token = None
        for token in stream:
            if token.type == "_NL":
                self._collect_comments(token)
                if parens:
                    continue
                yield token
                indent_str = token.rsplit("\n", 1)[-1] if "\n" in token else ""
                indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
                line, column = (token.end_line or token.line or 1), len(indent_str) + 1
                if indent > levels[-1]:
                    levels.append(indent)
                    yield _positioned("_INDENT", indent_str, line, column)
                else:
                    while indent < levels[-1]:
                        levels.pop()
                        yield _positioned("_DEDENT", "", line, column)
                    if indent != levels[-1]:
                        raise _LocatedError(
                            line,
                            column,
                            f"indentation does not match any enclosing block (column {indent + 1})",
                            f"indent to column {levels[-1] + 1} to continue the block",
                        )
                continue
            yield token
            if token.type == "LSQB":
                parens += 1
                opened.append(token)
            elif token.type == "RSQB":
                parens = max(parens - 1, 0)
                if opened:
                    opened.pop()
        if opened:
            raise _LocatedError(opened[-1].line or 1, opened[-1].column or 1, "`[` is never closed", "close the list with `]`")
        line = token.end_line if token is not None and token.end_line else 1
        while len(levels) > 1:
            levels.pop()
            yield _positioned("_DEDENT", "", line, 1)

    def _collect_comments(self, token: Token) -> None:
        text = str(token)
        if "#" not in text:
            return
        line = token.line or 1
        column = token.column or 1
        own_line = column == 1 and line == 1
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\n":
                line += 1
                column = 1
                own_line = True
                i += 1
            elif ch == "#":
                end = text.find("\n", i)
                end = len(text) if end == -1 else end
                self.comments.append(n.Comment(line=line, column=column, text=text[i:end].rstrip(), own_line=own_line))
                column += end - i
                i = end
            else:
                column += 1
                i += 1


def _positioned(kind: str, value: str, line: int, column: int) -> Token:
    return Token(kind, value, 0, line, column, line, column, 0)


_OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True, "maybe_placeholders": False}
_POSTLEX = _Indenter()
_LOCK = threading.Lock()
_LARK: Lark | None = None

_TERMINAL_NAMES = {
    "NAME": "a name",
    "WORD": "a word",
    "STRING": 'a quoted string',
    "INT": "an integer",
    "FLOAT": "a number",
    "BOOL": "true or false",
    "NULL": "null",
    "TEMPLATE": "a {reference}",
    "DURATION": "a duration such as 30s",
    "STEP_NUMBER": "a step number such as `1.`",
    "PROSE": "a line of text",
    "BULLET": "a `- ` bullet",
    "_NL": "end of line",
    "_INDENT": "indentation",
    "_DEDENT": "end of the block",
    "$END": "end of file",
    "ARROW": "`->`",
    "RANGE": "`..`",
}


def _parser() -> Lark:
    """Loaded on first parse (callers hold _LOCK), so importing this module builds nothing."""
    global _LARK, _POSTLEX
    if _LARK is None:
        grammar = resources.files("sggit.contract").joinpath("grammar.lark").read_text(encoding="utf-8")
        parser = load_parser(grammar, _POSTLEX, _OPTIONS)
        for term in parser.terminals:
            if term.name not in _TERMINAL_NAMES and term.pattern.type == "str":
                _TERMINAL_NAMES[term.name] = f"`{term.pattern.value}`"
        postlex = parser.options.postlex  # a parser from the cache brings its own
        assert isinstance(postlex, _Indenter)
        _POSTLEX = postlex
        _LARK = parser
    return _LARK


def _describe_expected(expected: set[str]) -> str:
    names = sorted({_TERMINAL_NAMES.get(e, e) for e in expected})
    if len(names) > 12:
        names = names[:12] + ["..."]
    return ", ".join(names)


def _syntax_diagnostic(exc: UnexpectedInput) -> tuple[int, int, str, str | None]:
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        expected = set(exc.expected) | set(getattr(exc, "accepts", None) or ())
        if tok.type in ("_INDENT", "_DEDENT", "$END", "_NL"):
            line, column = tok.line, tok.column
            what = _TERMINAL_NAMES.get(tok.type, tok.type)
        else:
            line, column = tok.line, tok.column
            what = f"`{tok.value}`"
        message = f"unexpected {what}"
        hint = f"expected {_describe_expected(expected)}" if expected else None
        word = str(tok.value)
        literals = [_TERMINAL_NAMES[e].strip("`") for e in expected if e in _TERMINAL_NAMES and _TERMINAL_NAMES[e].startswith("`")]
        close = difflib.get_close_matches(word, literals, n=1, cutoff=0.6) if word.strip() else []
        if close and close[0] != word:
            hint = f"did you mean `{close[0]}`? ({hint})"
        elif tok.type == "_NL" and "_INDENT" in expected:
            hint = "the contents of a section go on the following lines, indented"
        elif tok.type == "_INDENT":
            hint = "this line is indented deeper than the block it belongs to"
        return line or 1, column or 1, message, hint
    if isinstance(exc, UnexpectedCharacters):
        allowed = set(exc.allowed or ())
        char = exc.char if exc.char not in ("\n", "\r") else "end of line"
        hint = f"expected {_describe_expected(allowed)}" if allowed else None
        if exc.char == "\t":
            hint = "use spaces for indentation and alignment"
        return exc.line, exc.column, f"unexpected character {char!r}", hint
    if isinstance(exc, UnexpectedEOF):
        return max(exc.line, 1), max(exc.column, 1), "unexpected end of file", _describe_expected(set(exc.expected))
    return getattr(exc, "line", 1) or 1, getattr(exc, "column", 1) or 1, str(exc), None


# ---- tree -> AST ---------------------------------------------------------------


class Pos(TypedDict):
    """Where a node starts, typed so that `**pos` checks against the node's fields."""

    line: int
    column: int


def _pos(meta: Any) -> Pos:
    return {"line": getattr(meta, "line", 0), "column": getattr(meta, "column", 0)}


def _tpos(token: Token) -> Pos:
    return {"line": token.line or 0, "column": token.column or 0}


def _integer(text: str, line: int, column: int) -> int:
    """`int(text)`, or a located error where Python refuses a number that long (`sys.set_int_max_str_digits`)."""
    try:
        return int(text)
    except ValueError:
        raise _LocatedError(line, column, too_long(len(text.strip().lstrip("+-")))) from None


def _int(token: Token) -> int:
    return _integer(str(token), token.line or 1, token.column or 1)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_STRICT = json.JSONDecoder(parse_constant=_refuse_constant)


def _json(text: str, line: int, column: int, what: str, hint: str | None = None) -> tuple[Any, int]:
    """The JSON value `text` starts with and where it ends, refused with its line and column where it is
    not strict JSON (NaN, a number out of range) or where decoding it would exhaust Python (nested past
    `jsonlimits.MAX_DEPTH`, as `--input` is; an integer past the digit limit) rather than escape as an exception."""
    try:
        value, end = _STRICT.raw_decode(text)
    except RecursionError:  # the value itself is that deep: the depth scan below finds where
        value, end = None, len(text)
    except json.JSONDecodeError as exc:
        raise _LocatedError(line, column + exc.pos, f"{what} is not JSON: {exc.msg}", hint) from None
    except ValueError as exc:
        found = long_integer(text)
        if found is not None:
            raise _LocatedError(line, column + found[0], f"{what}: {too_long(found[1])}") from None
        constant = re.search(r"-?(?:NaN|Infinity)", text)
        raise _LocatedError(line, column + (constant.start() if constant else 0), f"{what} is not JSON: {exc}", "JSON numbers are finite") from None
    deepest, passed = nesting_depth(text[:end])
    if passed >= 0:
        raise _LocatedError(line, column + passed, f"{what}: {too_deep(deepest)}")
    _refuse_infinite(value, text, line, column, what)
    return value, end


def _refuse_infinite(value: Any, text: str, line: int, column: int, what: str) -> None:
    """A number such as 1e999 decodes to infinity, which no JSON can carry back out."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, float) and not math.isfinite(current):
            big = re.search(r"-?[0-9.]+[eE][-+]?[0-9]+", text)
            at = column + (big.start() if big else 0)
            raise _LocatedError(line, at, f"{what}: number {big.group() if big else current} is out of range")
        if isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


_REF_RE = re.compile(r"^\s*(?:step\s+(\d+)\s*\.\s*)?([A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\d+))*)\s*$")


def _parse_template(token: Token) -> n.Template:
    text = str(token)
    parts: list[str | n.Ref] = []
    pos = 0
    for match in re.finditer(r"\{([^{}]*)\}", text):
        if match.start() > pos:
            parts.append(text[pos : match.start()])
        inner = match.group(1)
        ref = _REF_RE.match(inner)
        column = (token.column or 1) + match.start()
        if not ref:
            raise _LocatedError(
                token.line or 1,
                column,
                f"malformed reference {{{inner}}}",
                "a reference is {name}, {name.field}, {list.0} or {step 2.field}",
            )
        path: list[str | int] = [_integer(p, token.line or 1, column) if p.isdigit() else p for p in ref.group(2).split(".")]
        step = _integer(ref.group(1), token.line or 1, column) if ref.group(1) else None
        parts.append(n.Ref(line=token.line or 0, column=column, step=step, path=path))
        pos = match.end()
    if pos < len(text):
        parts.append(text[pos:])
    return n.Template(parts=parts, **_tpos(token))


def _decode_string(token: Token) -> str:
    try:
        return json.loads(str(token))
    except json.JSONDecodeError as exc:
        raise _LocatedError(token.line or 1, (token.column or 1) + exc.pos, f"invalid string escape: {exc.msg}") from None


def _dedent_lines(items: list[tuple[int, int, str]], comment_lines: frozenset[int] = frozenset()) -> str:
    """Rebuild prose from (line, column, text), keeping blank lines and relative indent.

    A gap between two lines is a paragraph break only where the source line was
    blank; a comment line between them is not part of the text.
    """
    if not items:
        return ""
    base = min(col for _, col, _ in items)
    out: list[str] = []
    prev_line = None
    for line, col, text in items:
        if prev_line is not None:
            gap = [i for i in range(prev_line + 1, line) if i not in comment_lines]
            out.extend([""] * len(gap))
        out.append(" " * (col - base) + text.rstrip())
        prev_line = line
    return "\n".join(out)


class _Build(Transformer):
    """Builds pydantic nodes. Sections come back as (name, line, payload) tuples."""

    comment_lines: frozenset[int] = frozenset()

    # -- values
    def string(self, children: list[Token]) -> n.Scalar:
        return n.Scalar(value=_decode_string(children[0]), **_tpos(children[0]))

    def int(self, children: list[Token]) -> n.Scalar:
        return n.Scalar(value=_int(children[0]), **_tpos(children[0]))

    def float(self, children: list[Token]) -> n.Scalar:
        value = float(children[0])
        if value in (float("inf"), float("-inf")):
            raise _LocatedError(children[0].line or 1, children[0].column or 1, f"number {children[0]} is out of range")
        return n.Scalar(value=value, **_tpos(children[0]))

    def bool(self, children: list[Token]) -> n.Scalar:
        return n.Scalar(value=str(children[0]) == "true", **_tpos(children[0]))

    def null(self, children: list[Token]) -> n.Scalar:
        return n.Scalar(value=None, **_tpos(children[0]))

    def word(self, children: list[Token]) -> n.Word:
        return n.Word(value=str(children[0]), **_tpos(children[0]))

    def template(self, children: list[Token]) -> n.Template:
        return _parse_template(children[0])

    @v_args(meta=True)
    def list(self, meta: Any, children: list[Any]) -> n.ListValue:
        return n.ListValue(items=[c for c in children if c is not None], **_pos(meta))

    # -- types and fields
    @v_args(meta=True)
    def type_expr(self, meta: Any, children: builtins.list[Any]) -> n.TypeRef:
        name = children[0]
        if len(children) - 1 > MAX_TYPE_DEPTH:
            raise _LocatedError(
                name.line or 1, name.column or 1, f"type {name} nests {len(children) - 1} levels deep; at most {MAX_TYPE_DEPTH} are accepted",
                "name the inner part in `types:`, or pass it as json",
            )
        node = n.TypeRef(kind="named", name=str(name), **_tpos(name))
        for suffix in children[1:]:
            kind, lo, hi = suffix
            if kind == "optional":
                node = n.TypeRef(kind="optional", of=node, **_tpos(name))
            else:
                node = n.TypeRef(kind="list", of=node, min_items=lo, max_items=hi, **_tpos(name))
        return node

    def optional_suffix(self, children: builtins.list[Any]) -> tuple[str, None, None]:
        return ("optional", None, None)

    def list_suffix(self, children: builtins.list[Any]) -> tuple[str, None, None]:
        return ("list", None, None)

    def sized_suffix(self, children: builtins.list[Token]) -> tuple[str, builtins.int, builtins.int | None]:
        ints = [t for t in children if t.type == "INT"]
        lo = _int(ints[0])
        hi = _int(ints[1]) if len(ints) > 1 else None
        for tok in ints:
            if _int(tok) < 0:
                raise _LocatedError(tok.line or 1, tok.column or 1, "a list size cannot be negative")
        if hi is not None and hi < lo:
            raise _LocatedError(ints[1].line or 1, ints[1].column or 1, f"list size range {lo}..{hi} is empty")
        return ("list", lo, hi)

    def default(self, children: builtins.list[Any]) -> tuple[str, Any]:
        return ("default", children[0])

    def description(self, children: builtins.list[Token]) -> tuple[str, str]:
        return ("description", _decode_string(children[0]))

    def keyword_default(self, children: builtins.list[Any]) -> tuple[str, Any]:
        return ("keyword_default", children[0])

    def field(self, children: builtins.list[Any]) -> n.FieldDecl:
        name, type_ref = children[0], children[1]
        extra = dict(children[2:])
        default = extra.get("default")
        if "keyword_default" in extra:
            later = extra["keyword_default"]
            if default is not None:
                raise _LocatedError(later.line, later.column, f"field {name} has two defaults", "keep one: `= value` before the description")
            default = _keyword_default(type_ref, later)
        return n.FieldDecl(name=str(name), type=type_ref, default=default, description=extra.get("description"), **_tpos(name))

    def type_def(self, children: builtins.list[Any]) -> n.TypeDef:
        return n.TypeDef(name=str(children[0]), fields=children[1:], **_tpos(children[0]))

    # -- text sections
    def prose_item(self, children: builtins.list[Token]) -> builtins.list[tuple[builtins.int, builtins.int, str]]:
        tok = children[0]
        return [(tok.line or 0, tok.column or 0, str(tok))]

    def prose_nested(self, children: builtins.list[Any]) -> builtins.list[tuple[builtins.int, builtins.int, str]]:
        return [item for child in children for item in child]

    def does(self, children: builtins.list[Any]) -> tuple[str, n.Prose]:
        items = [item for child in children for item in child]
        prose = n.Prose(text=_dedent_lines(items, self.comment_lines), line=items[0][0], column=items[0][1], end_line=items[-1][0])
        return ("does", prose)

    def bullet(self, children: builtins.list[Any]) -> n.Bullet:
        tok = children[0]
        text = str(tok)[1:].strip()
        rest = [item for child in children[1:] for item in child]
        if rest:
            text = " ".join([text] + [t.strip() for _, _, t in rest])
        return n.Bullet(text=text, **_tpos(tok))

    def _bullets(name: str):  # type: ignore[no-redef, misc]
        def method(self: Any, children: list[n.Bullet]) -> tuple[str, list[n.Bullet]]:
            return (name, children)

        return method

    def item(self, children: builtins.list[Any]) -> _Item:
        tok = children[0]
        if tok.type == "BULLET":
            bullet = self.bullet(children)
            return _Item(bullet, bullet.column + 2)
        rest = [item for child in children[1:] for item in child]
        text = " ".join([str(tok).strip()] + [t.strip() for _, _, t in rest])
        return _Item(n.Bullet(text=text, **_tpos(tok)), tok.column or 1)

    def _items(name: str):  # type: ignore[no-redef, misc]
        def method(self: Any, children: list[_Item]) -> tuple[str, list[n.Bullet]]:
            return (name, [c.bullet for c in children])

        return method

    before = _items("before")
    after = _items("after")
    unhealthy_when = _bullets("unhealthy_when")

    def fails_when(self, children: builtins.list[_Item]) -> tuple[str, builtins.list[n.FailureMode]]:
        return ("fails_when", [_failure_mode(c.bullet, c.text_column) for c in children])

    def examples(self, children: builtins.list[n.Bullet]) -> tuple[str, builtins.list[n.Example]]:
        return ("examples", [_example(b) for b in children])

    # -- simple sections
    def is_clause(self, children: builtins.list[Token]) -> tuple[str, Token]:
        return ("is", children[0])

    def risk_clause(self, children: builtins.list[Token]) -> tuple[str, Token]:
        return ("risk", children[0])

    def takes(self, children: builtins.list[n.FieldDecl]) -> tuple[str, builtins.list[n.FieldDecl]]:
        return ("takes", children)

    def gives(self, children: builtins.list[n.FieldDecl]) -> tuple[str, builtins.list[n.FieldDecl]]:
        return ("gives", children)

    def types(self, children: builtins.list[n.TypeDef]) -> tuple[str, builtins.list[n.TypeDef]]:
        return ("types", children)

    def feed(self, children: builtins.list[Token]) -> n.Feed:
        # a locus alone is the reference runtime's form for convergence
        timescale = str(children[1]) if len(children) > 1 else "convergence"
        return n.Feed(locus=str(children[0]), timescale=timescale, **_tpos(children[0]))

    def connect(self, children: builtins.list[Any]) -> n.Connect:
        description = children[2][1] if len(children) > 2 else None
        return n.Connect(name=str(children[0]), protocol=str(children[1]), description=description, **_tpos(children[0]))

    def connects(self, children: builtins.list[n.Connect]) -> tuple[str, builtins.list[n.Connect]]:
        return ("connects", children)

    def domain(self, children: builtins.list[Token]) -> tuple[str, Token]:
        return ("domain", children[0])

    def feeds(self, children: builtins.list[n.Feed]) -> tuple[str, builtins.list[n.Feed]]:
        return ("feeds", children)

    # -- verify
    def arg(self, children: builtins.list[Any]) -> n.Arg:
        return n.Arg(name=str(children[0]), value=children[1], **_tpos(children[0]))

    def check(self, children: builtins.list[Any]) -> n.Check:
        return n.Check(locus=str(children[0]), args=children[1:], **_tpos(children[0]))

    def verify_for(self, children: builtins.list[Any]) -> n.VerifyFor:
        return n.VerifyFor(var=str(children[0]), iterable=children[1], items=children[2:], **_tpos(children[0]))

    def within(self, children: builtins.list[Token]) -> n.Within:
        all_ = any(t.type == "ALL" for t in children)
        tok = children[-1]
        match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)", str(tok))
        assert match is not None
        duration = n.Duration(amount=float(match.group(1)), unit=match.group(2), **_tpos(tok))  # type: ignore[arg-type]
        if not duration.seconds <= MAX_WINDOW:
            raise _LocatedError(
                tok.line or 1, tok.column or 1, f"window {tok} is longer than {MAX_WINDOW_TEXT}, the longest accepted",
                f"a window is how long the checks may take to pass; write at most `within {MAX_WINDOW_TEXT}`",
            )
        return n.Within(duration=duration, all=all_, **_tpos(children[0]))

    def verify(self, children: builtins.list[Any]) -> tuple[str, n.Verify] | tuple[str, builtins.list[n.Bullet]]:
        first = children[0]
        prose = [c for c in children if isinstance(c, n.Bullet)]
        if not prose:
            return ("verify", n.Verify(items=children, line=first.line, column=first.column))
        if len(prose) != len(children):
            at = prose[0] if first is not prose[0] else next(c for c in children if not isinstance(c, n.Bullet))
            raise _LocatedError(at.line, at.column, "a verify block holds either checks or prose bullets, not both", "put the prose under `after:` and keep the checks in `verify:`")
        return ("verifies", prose)

    # -- pathway
    def param(self, children: builtins.list[Any]) -> n.Param:
        return n.Param(name=str(children[0]), value=children[1], **_tpos(children[0]))

    def call(self, children: builtins.list[Any]) -> n.Call:
        arrow = isinstance(children[0], Token) and children[0].type == "ARROW"
        rest = children[1:] if arrow else children
        name = rest[0]
        return n.Call(target=str(name), pathway=arrow, params=rest[1:], **_tpos(name))

    def for_step(self, children: builtins.list[Any]) -> n.ForStep:
        return n.ForStep(var=str(children[0]), iterable=children[1], body=children[2:], **_tpos(children[0]))

    def branch(self, children: builtins.list[Any]) -> n.Branch:
        flag, _arrow, target = children[0], children[1], children[2]
        call = n.Call(target=str(target), pathway=False, params=children[3:], **_tpos(target))
        return n.Branch(when=str(flag) == "true", call=call, **_tpos(flag))

    def when_step(self, children: builtins.list[Any]) -> n.WhenStep:
        step_tok = children[0]
        names = [str(t) for t in children[1:] if isinstance(t, Token) and t.type == "NAME"]
        branches = [c for c in children if isinstance(c, n.Branch)]
        return n.WhenStep(step=_int(step_tok), path=names, branches=branches, **_tpos(step_tok))

    def step(self, children: builtins.list[Any]) -> n.Step:
        num = children[0]
        return n.Step(number=_integer(str(num)[:-1], num.line or 1, num.column or 1), body=children[1], **_tpos(num))

    def steps(self, children: builtins.list[n.Step]) -> tuple[str, builtins.list[n.Step]]:
        return ("steps", children)

    def requirement(self, children: builtins.list[Token]) -> n.Requirement:
        nums = [_int(t) for t in children]
        return n.Requirement(step=nums[0], needs=nums[1:], **_tpos(children[0]))

    def requires(self, children: builtins.list[n.Requirement]) -> tuple[str, builtins.list[n.Requirement]]:
        return ("requires", children)

    def policy(self, children: builtins.list[Token]) -> n.Policy:
        return n.Policy(text=" ".join(str(t) for t in children), **_tpos(children[0]))

    def on_failure(self, children: builtins.list[n.Policy]) -> tuple[str, builtins.list[n.Policy]]:
        return ("on_failure", children)

    # -- topology
    def property(self, children: builtins.list[Any]) -> n.Property:
        return n.Property(name=str(children[0]), values=children[1:], **_tpos(children[0]))

    def resource(self, children: builtins.list[Any]) -> n.Resource:
        name = children[0]
        res = n.Resource(name=str(name), **_tpos(name))
        for child in children[1:]:
            if isinstance(child, tuple):
                if res.kind is not None:
                    raise _LocatedError(child[1].line, child[1].column, f"resource {res.name} already has a kind ({res.kind})")
                res.kind = str(child[1])
                res.kind_line = child[1].line
                res.order.append("is")
            else:
                res.properties.append(child)
                res.order.append(child.name)
        return res

    def has(self, children: builtins.list[n.Resource]) -> tuple[str, builtins.list[n.Resource]]:
        return ("has", children)

    # -- phenotype
    def for_clause(self, children: builtins.list[Token]) -> tuple[str, Token]:
        return ("for", children[0])

    def binding(self, children: builtins.list[Any]) -> n.Binding:
        return n.Binding(name=str(children[0]), value=children[1], **_tpos(children[0]))

    # -- definitions
    def gene(self, children: builtins.list[Any]) -> n.Gene:
        return _definition(n.Gene, children)

    def pathway(self, children: builtins.list[Any]) -> n.Pathway:
        return _definition(n.Pathway, children)

    def topology(self, children: builtins.list[Any]) -> n.Topology:
        return _definition(n.Topology, children)

    def phenotype(self, children: builtins.list[Any]) -> n.Phenotype:
        name = children[0]
        node = n.Phenotype(name=str(name), **_tpos(name))
        for child in children[1:]:
            if isinstance(child, tuple):
                if node.topology is not None:
                    raise _LocatedError(child[1].line, child[1].column, f"phenotype {node.name} names its topology twice")
                node.topology = str(child[1])
                node.sections.append("for")
            else:
                node.bindings.append(child)
                node.sections.append(f"binding:{child.name}")
        return node

    def start(self, children: builtins.list[Any]) -> Any:
        return children[-1]


_SECTION_FIELD = {"is": "family", "fails_when": "fails_when", "unhealthy_when": "unhealthy_when"}
_SECTION_TITLE = {"is": "is", "fails_when": "fails when", "unhealthy_when": "unhealthy when", "on_failure": "on failure", "verifies": "verify"}


def _definition(cls: type[n.Node], children: list[Any]) -> Any:
    name = children[0]
    values: dict[str, Any] = {}
    sections: list[str] = []
    titles: set[str] = set()
    for kind, payload in children[1:]:
        line: int = (payload.line if isinstance(payload, (Token, n.Node)) else payload[0].line) or 0
        column: int = (payload.column if isinstance(payload, (Token, n.Node)) else payload[0].column) or 0
        title = _SECTION_TITLE.get(kind, kind)
        if kind == "domain":
            values["domain"] = str(payload)
            values["_domain_pos"] = payload
            continue
        if title in titles:
            raise _LocatedError(line, column, f"section `{title}` appears twice in {name}", "merge the two sections into one")
        if kind == "verifies" and cls is not n.Gene:
            raise _LocatedError(line, column, f"prose bullets in `verify:` describe a diagnostic gene; a {cls.__name__.lower()} verifies with checks", "write checks such as `check_link_state device={name}` and a `within 30s` line")
        titles.add(title)
        sections.append(kind)
        field = _SECTION_FIELD.get(kind, kind)
        if isinstance(payload, Token):
            values[field] = str(payload)
            values[f"_{field}_pos"] = payload
        else:
            values[field] = payload
    positions = {k[1:-4]: (t.line, t.column) for k, t in list(values.items()) if k.startswith("_")}
    for key in [k for k in values if k.startswith("_")]:
        del values[key]
    return cls(name=str(name), sections=sections, positions=positions, **values, **_tpos(name))  # type: ignore[call-arg]


class _Item:
    """A bullet and the column where its text starts (after `- `, or the line itself)."""

    def __init__(self, bullet: n.Bullet, text_column: int) -> None:
        self.bullet, self.text_column = bullet, text_column


def _keyword_default(type_ref: n.TypeRef, value: Any) -> Any:
    """`default="Month,1958"` on a list type is the reference runtime's list: split at commas."""
    list_type = type_ref
    while list_type.kind == "optional" and list_type.of is not None:
        list_type = list_type.of
    if list_type.kind != "list" or not isinstance(value, n.Scalar) or not isinstance(value.value, str):
        return value
    item = list_type.of
    while item is not None and item.kind == "optional":
        item = item.of
    base = item.name if item is not None and item.kind == "named" else None
    text = value.value
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    pos: Pos = {"line": value.line, "column": value.column}
    return n.ListValue(items=[n.Scalar(value=_list_item(p, base, value), **pos) for p in parts], **pos)


_NUMBER_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _list_item(text: str, base: str | None, at: n.Scalar) -> Any:
    """An item of a comma-separated default, typed by the list's item type where it fits (else a string)."""
    if base == "int" and re.fullmatch(r"-?[0-9]+", text):
        return _integer(text, at.line, at.column)
    if base == "float" and _NUMBER_RE.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    if base == "bool" and text in ("true", "false"):
        return text == "true"
    if base == "json":
        try:
            value, end = _json(text, at.line, at.column, "default item")
        except _LocatedError as exc:
            if "digits" in exc.message:
                raise
            return text
        if text[end:].strip():
            return text
        return value if value is None or isinstance(value, (str, bool, int, float)) else text
    return text


def _failure_mode(bullet: n.Bullet, text_column: int) -> n.FailureMode:
    text = bullet.text
    if "->" not in text:
        raise _LocatedError(bullet.line, bullet.column, "a failure mode needs an outcome", "write `- condition -> success=false` or `- condition -> error`")
    condition, _, outcome = text.rpartition("->")
    col = text_column + len(condition) + 2 + (len(outcome) - len(outcome.lstrip()))
    outcome = outcome.strip()
    if outcome == "error":
        return n.FailureMode(condition=condition.strip(), outcome="error", line=bullet.line, column=bullet.column)
    assignments: dict[str, Any] = {}
    rest = outcome
    while rest:
        match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*", rest)
        if not match:
            raise _LocatedError(bullet.line, col + len(outcome) - len(rest), f"unknown failure outcome `{outcome}`", "the outcome is `error` or field assignments such as `success=false`")
        key, rest = match.group(1), rest[match.end() :]
        if rest.startswith(("\"", "[", "{")):
            value, end = _json(rest, bullet.line, col + len(outcome) - len(rest), f"value for {key}")
        else:
            end = rest.find(",") if "," in rest else len(rest)
            raw = rest[:end].strip()
            try:
                value, _ = _json(raw, bullet.line, col + len(outcome) - len(rest), f"value for {key}")
            except _LocatedError as exc:
                if "digits" in exc.message:
                    raise
                value = raw
        assignments[key] = value
        rest = rest[end:].lstrip()
        if rest.startswith(","):
            rest = rest[1:]
        elif rest:
            raise _LocatedError(bullet.line, col + len(outcome) - len(rest), f"expected `,` between outcome assignments in `{outcome}`")
    return n.FailureMode(condition=condition.strip(), outcome="result", assignments=assignments, line=bullet.line, column=bullet.column)


def _given(bullet: n.Bullet, base: int) -> tuple[list[list[Any]], str, int]:
    """`given [[op, arg...], ...]` before an example: the host state it starts from."""
    text = bullet.text
    rest = text[len("given"):].lstrip()
    offset = len(text) - len(rest)
    steps, end = _json(rest, bullet.line, base + offset, "example host state", 'write `- given [["create_bridge", "br0"]] {...} -> {...}`')
    if not isinstance(steps, list) or not all(isinstance(s, list) and s and isinstance(s[0], str) for s in steps):
        raise _LocatedError(bullet.line, base + offset, "example host state must be a list of calls, each `[\"operation\", arg, ...]`")
    remaining = rest[end:].lstrip()
    return steps, remaining, len(text) - len(remaining)


def _example(bullet: n.Bullet) -> n.Example:
    text = bullet.text
    base = bullet.column + 2
    given: list[list[Any]] = []
    if re.match(r"given\b", text):
        given, text, skipped = _given(bullet, base)
        base += skipped
    first, end = _json(text, bullet.line, base, "example input", 'write `- {"field": value} -> {"field": value}`')
    rest = text[end:].lstrip()
    offset = len(text) - len(rest)
    if not rest.startswith("->"):
        raise _LocatedError(bullet.line, base + offset, "expected `->` between example input and output")
    rest2 = rest[2:].lstrip()
    offset2 = len(text) - len(rest2)
    second, end2 = _json(rest2, bullet.line, base + offset2, "example output")
    if rest2[end2:].strip():
        raise _LocatedError(bullet.line, base + offset2 + end2, "unexpected text after the example output")
    if not isinstance(first, dict) or not isinstance(second, dict):
        raise _LocatedError(bullet.line, base, "example input and output must both be JSON objects")
    return n.Example(input=first, output=second, given=given, line=bullet.line, column=bullet.column)


_BUILD = _Build()


# ---- public API ------------------------------------------------------------------


def _chunks(text: str) -> list[tuple[int, str]]:
    """Split at top-level lines; comments and blank lines go with the next definition."""
    lines = text.split("\n")
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    starts: list[int] = []
    for i, line in enumerate(lines):
        if line[:1] not in ("", " ", "\t", "\n", "\r", "#") and line.strip():
            starts.append(i)
    if not starts:
        meaningful = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
        return [(0, text)] if meaningful else []
    chunks: list[tuple[int, str]] = []
    bounds = [0] + starts[1:] + [len(lines)]
    for i in range(len(bounds) - 1):
        lo, hi = bounds[i], bounds[i + 1]
        chunks.append((lo, "".join(lines[lo:hi])))
    return chunks


_DEFINITION_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*[ ]+([A-Za-z_][A-Za-z0-9_]*)")


def definition_names(text: str) -> list[str]:
    """The name on each top-level line, read without parsing: what a broken file meant to define."""
    names = []
    for _, chunk in _chunks(text):
        for line in chunk.split("\n"):
            if line[:1] not in ("", " ", "\t", "\r", "#"):
                match = _DEFINITION_NAME_RE.match(line)
                if match:
                    names.append(match.group(1))
                break
    return names


_HEADER_RE = re.compile(
    r"^[ ]+(does|takes|gives|types|before|after|fails[ ]+when|unhealthy[ ]+when|feeds|verify|examples"
    r"|steps|requires|on[ ]+failure|has|connects)[ ]*:"
)


def _section_lines(text_lines: list[str], lo: int, hi: int) -> dict[str, int]:
    """Where each block section's header line is, for placing comments when formatting."""
    found: dict[str, int] = {}
    indent: int | None = None
    for i in range(lo, min(hi, len(text_lines))):
        line = text_lines[i]
        match = _HEADER_RE.match(line)
        if not match:
            continue
        width = len(line) - len(line.lstrip(" "))
        indent = width if indent is None else indent
        if width == indent:
            found.setdefault(re.sub(r"[ ]+", "_", match.group(1)), i + 1)
    return found


def _line_of(text_lines: list[str], line: int) -> str | None:
    if 1 <= line <= len(text_lines):
        return text_lines[line - 1]
    return None


def parse_text(text: str, path: str = "<string>") -> n.Document:
    """Parse a whole `.sg` file; raises ContractError listing every syntax error found."""
    doc, diagnostics = parse_collect(text, path)
    if diagnostics:
        raise ContractError(diagnostics)
    return doc


def parse_collect(text: str, path: str = "<string>") -> tuple[n.Document, list[Diagnostic]]:
    """Parse what can be parsed and return it together with the diagnostics.

    A byte order mark some editors write before UTF-8 text says nothing in a contract: it is skipped.
    """
    text = text.removeprefix("\ufeff")
    text_lines = text.split("\n")
    doc = n.Document(path=path, line=1, column=1)
    diagnostics: list[Diagnostic] = []
    if "\t" in text:
        for i, source_line in enumerate(text_lines, 1):
            stripped = source_line.lstrip(" ")
            if stripped.startswith("\t"):
                col = len(source_line) - len(stripped) + 1
                diagnostics.append(Diagnostic(path, i, col, "tab in indentation", "indent with spaces only", source_line))
        if diagnostics:
            doc.unparsed = definition_names(text)
            return doc, diagnostics
    for start, chunk in _chunks(text):
        source = "\n" * start + chunk
        if not source.endswith("\n"):
            source += "\n"
        with _LOCK:
            lark_parser = _parser()
            _POSTLEX.comments = []
            try:
                tree = lark_parser.parse(source)
                _BUILD.comment_lines = frozenset(c.line for c in _POSTLEX.comments if c.own_line)
                definition = _BUILD.transform(tree)
            except UnexpectedInput as exc:
                line, column, message, hint = _syntax_diagnostic(exc)
                diagnostics.append(Diagnostic(path, line, column, message, hint, _line_of(text_lines, line)))
                doc.unparsed.extend(definition_names(chunk))
                continue
            except _LocatedError as exc:
                diagnostics.append(Diagnostic(path, exc.line, exc.column, exc.message, exc.hint, _line_of(text_lines, exc.line)))
                doc.unparsed.extend(definition_names(chunk))
                continue
            except VisitError as exc:
                orig = exc.orig_exc
                if isinstance(orig, _LocatedError):
                    diagnostics.append(Diagnostic(path, orig.line, orig.column, orig.message, orig.hint, _line_of(text_lines, orig.line)))
                    doc.unparsed.extend(definition_names(chunk))
                    continue
                raise
            finally:
                comments = list(_POSTLEX.comments)
        definition.section_lines = _section_lines(text_lines, start, start + chunk.count("\n") + 1)
        doc.definitions.append(definition)
        doc.comments.extend(comments)
    if not doc.definitions and not diagnostics and text.strip() and not all(
        line.strip().startswith("#") or not line.strip() for line in text_lines
    ):
        diagnostics.append(Diagnostic(path, 1, 1, "no definition found", "a contract starts with gene, pathway, topology or phenotype"))
    return doc, diagnostics


def read_source(path: str | Path) -> str:
    """A contract file's text; a ContractError at the line and column of the first byte that is not UTF-8."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ContractError([Diagnostic(str(p), 1, 1, f"cannot read: {exc.strerror or exc}")]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = raw.rfind(b"\n", 0, exc.start) + 1
        end = raw.find(b"\n", exc.start)
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[start : exc.start].decode("utf-8", "replace")) + 1
        source = raw[start : end if end >= 0 else len(raw)].decode("utf-8", "replace")
        message = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} ({exc.reason})"
        raise ContractError([Diagnostic(str(p), line, column, message, "save the file as UTF-8", source)]) from None


def parse_file(path: str | Path) -> n.Document:
    return parse_text(read_source(path), str(path))
