"""The phenotype `[settings]` sggit reads, each with the rule its value keeps: one table for `check` and every reader.

A setting is read far from where it is written (a threshold at the first
demotion, `host_interval` when the timer fires), so a typo or a bad value used to
pass `sggit check` and surface later, unlocated. `problem` says what is wrong
with one setting, in the same words for the checker and for the code that uses it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _int_from(low: int) -> Callable[[Any], str | None]:
    def rule(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            return f"must be an integer of at least {low}, not {value!r}"
        return None

    return rule


def _fraction(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
        return f"must be a number from 0 to 1, not {value!r}"
    return None


def _engine(value: Any) -> str | None:
    from sggit.engines.registry import ENGINE_NAMES

    if value not in ENGINE_NAMES:
        return f"must name an engine ({', '.join(ENGINE_NAMES)}), not {value!r}"
    return None


def _duration(value: Any) -> str | None:
    from sggit.errors import UsageError
    from sggit.runtime.temporal import parse_duration

    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f'must be a duration like "5m", not {value!r}'
    try:
        parse_duration(str(value))
    except UsageError as exc:
        return str(exc.message)
    return None


@dataclass(frozen=True)
class Setting:
    name: str
    rule: Callable[[Any], str | None]
    per_locus: bool
    """Whether `[settings.<locus>]` may set it for one locus too."""


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("promote_margin", _fraction, True),
    Setting("promote_min_invocations", _int_from(1), True),
    Setting("demote_after", _int_from(1), True),
    Setting("reexpress", _int_from(0), True),
    Setting("fusion_threshold", _int_from(1), False),
    Setting("engine", _engine, False),
    Setting("host_interval", _duration, False),
)}


def problem(key: str, value: Any, *, locus: str | None = None) -> str | None:
    """What is wrong with `settings.KEY = value` (or `settings.LOCUS.KEY`), or None."""
    where = f"settings.{locus}.{key}" if locus else f"settings.{key}"
    setting = SETTINGS.get(key)
    if setting is None or (locus is not None and not setting.per_locus):
        choices = [s.name for s in SETTINGS.values() if s.per_locus or locus is None]
        close = difflib.get_close_matches(key, choices, n=1)
        return f"{where}: unknown setting" + (f" (did you mean {close[0]}?)" if close else f"; known: {', '.join(choices)}")
    said = setting.rule(value)
    return f"{where}: {said}" if said else None


def problems(settings: dict[str, Any], loci: set[str] | None = None) -> list[tuple[str, str | None, str]]:
    """Every problem of a phenotype's `[settings]`, as (table, key or None, message), so a checker can point at it.

    A table is one locus's overrides, so its name must be a locus (when `loci` is known).
    """
    out: list[tuple[str, str | None, str]] = []
    for key, value in settings.items():
        if isinstance(value, dict):
            table = f"settings.{key}"
            if loci is not None and key not in loci:
                close = difflib.get_close_matches(key, sorted(loci), n=1)
                out.append((table, None, f"{table}: no locus {key}" + (f" (did you mean {close[0]}?)" if close else "")))
                continue
            out.extend((table, k, said) for k, v in value.items() if (said := problem(k, v, locus=key)))
        elif (said := problem(key, value)) is not None:
            out.append(("settings", key, said))
    return out
