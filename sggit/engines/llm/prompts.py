"""Prompts rendered from the jinja2 templates shipped in `sggit/engines/templates`.

The contract's `does` prose goes in verbatim: the paradigm treats the contract as
the prompt, so the words a domain expert wrote are the words the model reads.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

import jinja2
from pydantic import BaseModel

from sggit import domains
from sggit.domains import DEFAULT_DOMAIN
from sggit.engines.base import MutationContext
from sggit.genes import DEFAULT_ALLOWLIST, ENTRY_POINT

MUTATE = "mutate"
GENERATE = "generate"


class Prompt(BaseModel):
    mode: str
    system: str
    user: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps([self.system, self.user]).encode()).hexdigest()


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, default=str)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sggit.engines", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, sort_keys=True, default=str)
    env.filters["tojson_plain"] = lambda v: json.dumps(v, sort_keys=True, default=str)
    env.filters["as_text"] = _as_text
    return env


def mode_for(context: MutationContext) -> str:
    """No parent and no failure means proactive generation; anything else is a repair."""
    if context.parent is None and context.parent_source is None and context.error is None:
        return GENERATE
    return MUTATE


def render(
    context: MutationContext,
    count: int,
    *,
    allowlist: tuple[str, ...] | frozenset[str] = DEFAULT_ALLOWLIST,
    domain: str = DEFAULT_DOMAIN,
) -> Prompt:
    """The prompt for `context`; the genome is described in its domain's words."""
    mode = mode_for(context)
    env = _environment()
    values = {
        "contract": context.contract,
        "parent": context.parent,
        "parent_source": context.parent_source,
        "failing_input": context.failing_input,
        "error": context.error,
        "diagnostics": context.diagnostics,
        "environment": context.environment,
        "accepted": context.accepted,
        "siblings": context.siblings,
        "count": count,
        "allowlist": sorted(allowlist),
        "entry_point": ENTRY_POINT,
        "domain": domains.get(domain),
    }
    system = env.get_template("system.j2").render(values).strip() + "\n"
    user = env.get_template(f"{mode}.j2").render(values).strip() + "\n"
    return Prompt(mode=mode, system=system, user=user)
