from __future__ import annotations

import textwrap


def sg(text: str) -> str:
    """Contract text written indented inside a test, without the test's indentation."""
    return textwrap.dedent(text).lstrip("\n")
