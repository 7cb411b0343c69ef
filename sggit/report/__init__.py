"""Static HTML and markdown rendering: PR bodies, the genome report."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sggit.report", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **values: Any) -> str:
    """Render one of sggit/report/templates; a missing value is an error, never a blank."""
    return _environment().get_template(template).render(**values)
