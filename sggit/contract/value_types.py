"""Value types a domain adds to the contract language: a base type, and a rule its values keep.

The contract package knows no domain, as with resource kinds: a domain registers its
types (`sggit.domains.install`), and every check and validator after that accepts
them. Inputs are validated before any allele runs, so a value of a domain type that
breaks its rule (an interface name the kernel would refuse) is the caller's error,
reported against the field's path, and no allele is scored for a value none of them
could have accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sggit.contract.nodes import BASE_TYPES, FieldDecl, TypeRef


@dataclass(frozen=True)
class ValueType:
    name: str
    base: str
    """One of the base types (`nodes.BASE_TYPES`): a value must be that first."""
    problem: Callable[[Any], str | None]
    """What is wrong with a value of the base type, or None when it keeps the rule."""
    description: str
    refused: Callable[[Any, Any], str | None] | None = None
    """`refused(kernel, value)`: why this host's kernel would refuse a value that keeps the
    rule, or None. A policy of the host rather than a property of the value (the hosts a
    phenotype may fetch from), so it is asked of the kernel a run is on, before any allele."""

    def __post_init__(self) -> None:
        if self.base not in BASE_TYPES:
            raise ValueError(f"value type {self.name}: base {self.base!r} is not one of {', '.join(BASE_TYPES)}")
        if self.name in BASE_TYPES or not self.name.isidentifier():
            raise ValueError(f"value type {self.name!r}: a name must be an identifier and no base type's")


VALUE_TYPES: dict[str, ValueType] = {}


def register_value_types(types: Iterable[ValueType]) -> None:
    """Add value types every later check and validator accepts."""
    for value_type in types:
        VALUE_TYPES[value_type.name] = value_type


def kernel_refusals(fields: Iterable[FieldDecl]) -> tuple[tuple[str, TypeRef, ValueType], ...]:
    """The fields whose value type asks the kernel, each with its declared type: empty for most loci."""
    found = []
    for field in fields:
        named = field.type
        while named.kind != "named" and named.of is not None:
            named = named.of
        value_type = VALUE_TYPES.get(named.name or "")
        if value_type is not None and value_type.refused is not None:
            found.append((field.name, field.type, value_type))
    return tuple(found)


def kernel_refusal(kernel: Any, name: str, declared: TypeRef, value_type: ValueType, value: Any) -> tuple[str, str] | None:
    """The first of `value` (as validated against `declared`) the kernel refuses: its path and why."""
    assert value_type.refused is not None
    if value is None:
        return None
    if declared.kind == "list" and isinstance(value, list) and declared.of is not None:
        for index, item in enumerate(value):
            found = kernel_refusal(kernel, f"{name}[{index}]", declared.of, value_type, item)
            if found is not None:
                return found
        return None
    if declared.kind == "optional" and declared.of is not None:
        return kernel_refusal(kernel, name, declared.of, value_type, value)
    problem = value_type.refused(kernel, value)
    return None if problem is None else (name, problem)
