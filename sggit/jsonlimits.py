"""Where JSON from a person stops being data Python can take apart: nesting depth and integer length.

Both `--input` (`sggit.genome.jsonio`) and the contracts' examples (`sggit.contract.parser`)
refuse the same values in the same words, found without recursion. Standard library only.
"""

from __future__ import annotations

import re
import sys

MAX_DEPTH = 200

_NUMBER_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|-?(\d+)(\.\d+)?([eE][-+]?\d+)?')


def nesting_depth(text: str) -> tuple[int, int]:
    """(deepest nesting, offset where MAX_DEPTH was first passed or -1), scanning text without recursion."""
    depth = deepest = 0
    passed = -1
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if depth > MAX_DEPTH and passed < 0:
                    passed = i
        elif ch in "]}":
            depth -= 1
    return deepest, passed


def too_deep(deepest: int) -> str:
    return f"JSON nested {deepest} levels deep; at most {MAX_DEPTH} are accepted"


def long_integer(text: str) -> tuple[int, int] | None:
    """(offset, digits) of the first integer outside a string longer than Python converts, or None."""
    most = sys.get_int_max_str_digits()
    if not most:
        return None
    for match in _NUMBER_OR_STRING.finditer(text):
        digits, fraction, exponent = match.groups()
        if digits is not None and fraction is None and exponent is None and len(digits) > most:
            return match.start(), len(digits)
    return None


def too_long(digits: int) -> str:
    return f"an integer of {digits} digits; at most {sys.get_int_max_str_digits()} are accepted"
