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

from sggit.contract.nodes import BASE_TYPES


@dataclass(frozen=True)
class ValueType:
    name: str
    base: str
    """One of the base types (`nodes.BASE_TYPES`): a value must be that first."""
    problem: Callable[[Any], str | None]
    """What is wrong with a value of the base type, or None when it keeps the rule."""
    description: str

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
