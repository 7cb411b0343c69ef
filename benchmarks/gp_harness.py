"""The classic-algorithm repair corpus: loading it, generating unseen inputs, judging repairs.

Each program in `benchmarks/gp_corpus/` is a correct `<name>.py` (the reference,
never shown to an engine) and a `<name>.json` holding its category, its bug class,
the one-line bug (`old` -> `new`), the contract examples an engine is given, and
a generator spec for inputs the examples never showed. A repair is *correct* when
it passes the examples and agrees with the reference on `HIDDEN` generated inputs;
a repair that passes the examples only is *overfit*.

Spec of one input field: `["const", v]`, `["int", lo, hi]`,
`["ints"|"sorted_ints"|"sorted_unique"|"unique", min_len, max_len, lo, hi(, tag)]`
(fields with the same tag get the same length), `["str", min_len, max_len, alphabet]`,
`["strs", min_n, max_n, min_len, max_len, alphabet]`, `["edges"|"dag", n_field, min, max]`,
`["wedges", n_field, min, max, w_lo, w_hi]`, `["cells", rows_field, cols_field, min, max]`,
`["triangle", min_rows, max_rows, lo, hi]`, `["square", min_n, max_n, lo, hi]`,
`["pairs_plus_one", min_pairs, max_pairs, lo, hi]`, `["nested", depth, max_len, lo, hi]`.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

from sggit.engines.base import Case, ContractBrief, Engine, Evaluator, MutationContext

CORPUS = Path(__file__).with_name("gp_corpus")
HIDDEN = 300


@dataclass(frozen=True)
class CorpusProgram:
    name: str
    category: str
    bug_class: str
    source: str
    old: str
    new: str
    examples: list[dict[str, Any]]
    inputs: dict[str, list[Any]]

    @property
    def buggy(self) -> str:
        assert self.source.count(self.old) == 1, f"{self.name}: the bug's line must occur once"
        return self.source.replace(self.old, self.new)

    def context(self) -> MutationContext:
        brief = ContractBrief(locus=self.name, does=f"{self.category}: {self.name}", examples=self.examples)
        return MutationContext(contract=brief, parent=f"{self.name}-buggy", parent_source=self.buggy,
                               error="an example fails")

    def example_cases(self) -> list[Case]:
        return [Case(input=e["input"], expected=e["output"]) for e in self.examples]


def load(names: list[str] | None = None) -> list[CorpusProgram]:
    out = []
    for spec_path in sorted(CORPUS.glob("*.json")):
        if names is not None and spec_path.stem not in names:
            continue
        spec = json.loads(spec_path.read_text())
        out.append(CorpusProgram(
            name=spec_path.stem, category=spec["category"], bug_class=spec["bug_class"],
            source=spec_path.with_suffix(".py").read_text(), old=spec["bug"]["old"], new=spec["bug"]["new"],
            examples=spec["examples"], inputs=spec["inputs"],
        ))
    return out


def reference(source: str) -> Callable[[str], str]:
    """The trusted correct version, run in-process: it is the oracle."""
    namespace: dict[str, Any] = {}
    exec(compile(source, "<reference>", "exec"), namespace)
    execute: Callable[[str], str] = namespace["execute"]
    return execute


def _ints(rng: Random, n: int, lo: int, hi: int, kind: str) -> list[int]:
    if kind in ("unique", "sorted_unique"):
        values = rng.sample(range(lo, hi + 1), min(n, hi - lo + 1))
        return sorted(values) if kind == "sorted_unique" else values
    values = [rng.randint(lo, hi) for _ in range(n)]
    return sorted(values) if kind == "sorted_ints" else values


def _nested(rng: Random, depth: int, max_len: int, lo: int, hi: int) -> list[Any]:
    return [_nested(rng, depth - 1, max_len, lo, hi) if depth > 0 and rng.random() < 0.3 else rng.randint(lo, hi)
            for _ in range(rng.randint(0, max_len))]


def generate(spec: dict[str, list[Any]], rng: Random) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lengths: dict[str, int] = {}
    for field, (kind, *a) in spec.items():
        if kind == "const":
            out[field] = a[0]
        elif kind == "int":
            out[field] = rng.randint(a[0], a[1])
        elif kind in ("ints", "sorted_ints", "sorted_unique", "unique"):
            n = rng.randint(a[0], a[1])
            if len(a) > 4:
                n = lengths.setdefault(a[4], n)
            out[field] = _ints(rng, n, a[2], a[3], kind)
        elif kind == "str":
            out[field] = "".join(rng.choice(a[2]) for _ in range(rng.randint(a[0], a[1])))
        elif kind == "strs":
            out[field] = ["".join(rng.choice(a[4]) for _ in range(rng.randint(a[2], a[3]))) for _ in range(rng.randint(a[0], a[1]))]
        elif kind in ("edges", "dag", "wedges"):
            n = out[a[0]]
            edges = []
            for _ in range(rng.randint(a[1], a[2])):
                u, v = rng.randrange(n), rng.randrange(n)
                if kind == "dag" and u >= v:
                    continue
                edges.append([u, v] + ([rng.randint(a[3], a[4])] if kind == "wedges" else []))
            out[field] = edges
        elif kind == "cells":
            rows, cols = out[a[0]], out[a[1]]
            out[field] = [[rng.randrange(rows), rng.randrange(cols)] for _ in range(rng.randint(a[2], a[3]))]
        elif kind == "triangle":
            out[field] = [[rng.randint(a[2], a[3]) for _ in range(r + 1)] for r in range(rng.randint(a[0], a[1]))]
        elif kind == "square":
            n = rng.randint(a[0], a[1])
            out[field] = [[rng.randint(a[2], a[3]) for _ in range(n)] for _ in range(n)]
        elif kind == "pairs_plus_one":
            values = rng.sample(range(a[2], a[3] + 1), rng.randint(a[0], a[1]) + 1)
            items = values[1:] * 2 + values[:1]
            rng.shuffle(items)
            out[field] = items
        elif kind == "nested":
            out[field] = _nested(rng, a[0], a[1], a[2], a[3])
        else:
            raise ValueError(f"unknown input kind {kind!r} for field {field}")
    return out


def hidden_cases(program: CorpusProgram, count: int = HIDDEN, seed: int = 0) -> list[Case]:
    """Inputs the examples never showed, with the reference's output as the expectation."""
    rng = Random(f"{program.name}:{seed}")
    execute = reference(program.source)
    shown = {json.dumps(e["input"], sort_keys=True) for e in program.examples}
    cases: list[Case] = []
    for _ in range(count * 5):
        if len(cases) >= count:
            break
        inp = generate(program.inputs, rng)
        key = json.dumps(inp, sort_keys=True)
        if key in shown:
            continue
        shown.add(key)
        cases.append(Case(input=inp, expected=json.loads(execute(json.dumps(inp))), kind="hidden"))
    return cases


def verdict(evaluator: Evaluator, program: CorpusProgram, source: str | None) -> str:
    """`correct`, `overfit` (passes the examples, disagrees on hidden inputs) or `failed`."""
    if source is None:
        return "failed"
    [shown] = evaluator.evaluate([source], program.example_cases())
    if shown.passed != shown.total:
        return "failed"
    [hidden] = evaluator.evaluate([source], hidden_cases(program))
    return "correct" if hidden.passed == hidden.total else "overfit"


@dataclass
class Attempt:
    program: str
    bug_class: str
    outcome: str
    seconds: float
    judged: int


def attempt(engine: Engine, evaluator: Evaluator, program: CorpusProgram) -> Attempt:
    started = time.perf_counter()
    proposals = engine.propose(program.context(), 1)
    seconds = time.perf_counter() - started
    stats = getattr(engine, "last_stats", None)
    judged = stats.evaluated if stats is not None else getattr(engine, "evaluated", 0)
    outcome = verdict(evaluator, program, proposals[0].source if proposals else None)
    return Attempt(program.name, program.bug_class, outcome, seconds, judged)


def summary(attempts: list[Attempt]) -> dict[str, Any]:
    healed = [a for a in attempts if a.outcome != "failed"]
    return {
        "programs": len(attempts),
        "healed": len(healed),
        "correct": sum(a.outcome == "correct" for a in attempts),
        "overfit": sum(a.outcome == "overfit" for a in attempts),
        "median_seconds": round(statistics.median(a.seconds for a in attempts), 3) if attempts else None,
        "median_seconds_healed": round(statistics.median(a.seconds for a in healed), 3) if healed else None,
        "total_seconds": round(sum(a.seconds for a in attempts), 2),
        "total_judged": sum(a.judged for a in attempts),
    }
