"""Runtime validators compiled from `takes` / `gives`.

Every gene invocation crosses these twice, so each field list compiles once into a
tree of small closures, and a violation names its JSON path
(`interfaces[2]: expected string, got int`) so a caller can fix their input.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from sggit.contract import nodes as n
from sggit.contract.value_types import VALUE_TYPES, ValueType

_MISSING = object()


class Violation(BaseModel):
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class Invalid(ValueError):
    """Data that does not satisfy a field list; carries every violation."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(str(v) for v in violations))
        self.violations = violations


Checker = Callable[[Any, str, list[Violation]], Any]


def json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def literal_value(value: n.Value) -> Any:
    """The JSON value of a literal (defaults, topology properties). Templates have none."""
    if isinstance(value, n.Scalar):
        return value.value
    if isinstance(value, n.Word):
        return value.value
    if isinstance(value, n.ListValue):
        return [literal_value(v) for v in value.items]
    raise ValueError("a {reference} has no value outside a pathway or topology")


class _Compiler:
    def __init__(self, types: dict[str, n.TypeDef]) -> None:
        self.types = types
        self.objects: dict[str, Checker] = {}

    def type(self, ref: n.TypeRef) -> Checker:
        if ref.kind == "optional":
            assert ref.of is not None
            inner = self.type(ref.of)

            def optional(value: Any, path: str, out: list[Violation]) -> Any:
                return None if value is None else inner(value, path, out)

            return optional
        if ref.kind == "list":
            assert ref.of is not None
            item = self.type(ref.of)
            lo, hi = ref.min_items, ref.max_items

            def list_(value: Any, path: str, out: list[Violation]) -> Any:
                if not isinstance(value, list):
                    out.append(Violation(path=path, message=f"expected list, got {json_type_name(value)}"))
                    return value
                if lo is not None and len(value) < lo:
                    out.append(Violation(path=path, message=f"expected at least {lo} items, got {len(value)}"))
                if hi is not None and len(value) > hi:
                    out.append(Violation(path=path, message=f"expected at most {hi} items, got {len(value)}"))
                return [item(v, f"{path}[{i}]", out) for i, v in enumerate(value)]

            return list_
        return self.named(str(ref.name))

    def named(self, name: str) -> Checker:
        simple = _BASE.get(name)
        if simple is not None:
            return simple
        domain_type = VALUE_TYPES.get(name)
        if domain_type is not None:
            return _ruled(domain_type)
        if name in self.objects:
            return self.objects[name]
        typedef = self.types.get(name)
        if typedef is None:
            # the checker reports unknown types where they are written; here they only fail values
            def unknown(value: Any, path: str, out: list[Violation]) -> Any:
                out.append(Violation(path=path, message=f"unknown type {name}"))
                return value

            return unknown
        holder: list[Checker] = []

        def deferred(value: Any, path: str, out: list[Violation]) -> Any:
            return holder[0](value, path, out)

        self.objects[name] = deferred
        holder.append(self.fields(typedef.fields, fill_defaults=True))
        return deferred

    def fields(self, fields: Sequence[n.FieldDecl], *, fill_defaults: bool) -> Checker:
        compiled = []
        for f in fields:
            default = _MISSING
            if f.default is not None and not n.iter_refs(f.default):
                default = literal_value(f.default)
            elif f.type.is_optional:
                default = None
            compiled.append((f.name, self.type(f.type), default, f.required))
        known = {f.name for f in fields}

        def object_(value: Any, path: str, out: list[Violation]) -> Any:
            if not isinstance(value, dict):
                out.append(Violation(path=path, message=f"expected object, got {json_type_name(value)}"))
                return value
            result: dict[str, Any] = {}
            for name, check, default, required in compiled:
                if name in value:
                    result[name] = check(value[name], _join(path, name), out)
                elif required:
                    out.append(Violation(path=_join(path, name), message="required field is missing"))
                elif fill_defaults and default is not _MISSING:
                    result[name] = default
            for extra in value:
                if extra not in known:
                    out.append(Violation(path=_join(path, str(extra)), message="unexpected field"))
            return result

        return object_


def _ruled(value_type: ValueType) -> Checker:
    base = _BASE[value_type.base]

    def check(value: Any, path: str, out: list[Violation]) -> Any:
        before = len(out)
        value = base(value, path, out)
        if len(out) == before:
            problem = value_type.problem(value)
            if problem is not None:
                out.append(Violation(path=path, message=problem))
        return value

    return check


def _expect(kind: str, test: Callable[[Any], bool]) -> Checker:
    def check(value: Any, path: str, out: list[Violation]) -> Any:
        if not test(value):
            out.append(Violation(path=path, message=f"expected {kind}, got {json_type_name(value)}"))
        return value

    return check


def _float(value: Any, path: str, out: list[Violation]) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        out.append(Violation(path=path, message=f"expected float, got {json_type_name(value)}"))
        return value
    if not math.isfinite(value):
        out.append(Violation(path=path, message=_not_finite(value)))
        return value
    return float(value)


def _not_finite(value: float) -> str:
    return f"{'NaN' if math.isnan(value) else '-Infinity' if value < 0 else 'Infinity'} is not JSON: a number must be finite"


def _strict_json(value: Any, path: str, out: list[Violation]) -> Any:
    """Python's json reads NaN and Infinity, which no JSON writer puts back out: a value that holds one would
    reach an allele and fail it when its result is journalled, charged to an allele that did nothing wrong.
    Walked without recursion, since a json value may nest as deep as the input allows."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        current, at = stack.pop()
        if isinstance(current, float) and not math.isfinite(current):
            out.append(Violation(path=at, message=_not_finite(current)))
        elif isinstance(current, dict):
            stack.extend((item, _join(at, str(key))) for key, item in reversed(current.items()))
        elif isinstance(current, list):
            stack.extend((item, f"{at}[{i}]") for i, item in reversed(list(enumerate(current))))
    return value


def _object(value: Any, path: str, out: list[Violation]) -> Any:
    if not isinstance(value, dict):
        out.append(Violation(path=path, message=f"expected object, got {json_type_name(value)}"))
        return value
    return _strict_json(value, path, out)


_BASE: dict[str, Checker] = {
    "string": _expect("string", lambda v: isinstance(v, str)),
    "int": _expect("int", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": _float,
    "bool": _expect("bool", lambda v: isinstance(v, bool)),
    "json": _strict_json,
    "object": _object,
}


class Validator:
    """Validates one field list (a gene's `takes` or `gives`)."""

    def __init__(self, fields: Sequence[n.FieldDecl], types: Sequence[n.TypeDef] = (), *, fill_defaults: bool = True) -> None:
        self._check = _Compiler({t.name: t for t in types}).fields(fields, fill_defaults=fill_defaults)
        self.field_names = [f.name for f in fields]

    def validate(self, data: Any) -> tuple[Any, list[Violation]]:
        out: list[Violation] = []
        value = self._check(data, "", out)
        return value, out

    def __call__(self, data: Any) -> Any:
        """The validated value with defaults applied; raises Invalid listing every problem."""
        value, out = self.validate(data)
        if out:
            raise Invalid(out)
        return value


def check_value(type_ref: n.TypeRef, value: Any, types: Sequence[n.TypeDef] = ()) -> list[Violation]:
    out: list[Violation] = []
    _Compiler({t.name: t for t in types}).type(type_ref)(value, "", out)
    return out


def compile_validator(gene: n.Gene, which: str) -> Validator:
    """`which` is "takes" (defaults applied) or "gives"."""
    if which not in ("takes", "gives"):
        raise ValueError(f"which must be takes or gives, not {which!r}")
    return Validator(getattr(gene, which), gene.types, fill_defaults=True)
