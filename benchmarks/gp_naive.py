"""The baseline the gp engine must beat: blind random search of one or two edits.

Same operators, same evaluator, same budget and batches as GPEngine; no sweep, no
fitness, no minimisation, no memory of what it already tried. It exists so the
benchmarks can report the gp engine against it measured in the same run.
"""

from __future__ import annotations

import ast
import time
import warnings
from random import Random

from sggit.engines.base import Engine, Evaluator, MutationContext, Proposal
from sggit.engines.gp.cases import cases_for
from sggit.engines.gp.edits import ALL_OPS, Edit, Pools, apply_edit, build_pools, collect_slots, edits_for, imports_of
from sggit.genes import ENTRY_POINT


class RandomSearchEngine(Engine):
    name = "gp-random"

    def __init__(
        self, evaluator: Evaluator, *, seed: int | None = None, max_candidates: int = 3000,
        max_seconds: float = 60.0, batch: int = 32, max_edits: int = 2,
    ) -> None:
        self.evaluator = evaluator
        self.seed = seed
        self.max_candidates = max_candidates
        self.max_seconds = max_seconds
        self.batch = batch
        self.max_edits = max_edits
        self.evaluated = 0

    def _candidate(self, rng: Random, parent: str, pools: Pools) -> str | None:
        tree = ast.parse(parent)
        applied: list[Edit] = []
        for _ in range(rng.randint(1, self.max_edits)):
            op = ALL_OPS[rng.randrange(len(ALL_OPS))]
            choices = edits_for(op, collect_slots(tree, pools), pools)
            edit = choices[rng.randrange(len(choices))] if choices else None
            if edit is not None and apply_edit(tree, edit, pools):
                applied.append(edit)
        return ast.unparse(tree) if applied else None

    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        self.evaluated = 0
        if not context.parent_source:
            return []
        cases = cases_for(context)
        if not cases:
            return []
        rng = Random(self.seed)
        parent_tree = ast.parse(context.parent_source)
        parent = ast.unparse(parent_tree)
        pools = build_pools(parent_tree, [context.siblings[k] for k in sorted(context.siblings)])
        imports = imports_of(parent_tree)
        deadline = time.monotonic() + self.max_seconds
        found: list[str] = []
        attempts = 0
        while len(found) < count and self.evaluated < self.max_candidates and time.monotonic() < deadline:
            batch: list[str] = []
            while len(batch) < self.batch and attempts < self.max_candidates * 20:
                attempts += 1
                source = self._candidate(rng, parent, pools)
                if source is None or source == parent:
                    continue
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        compile(source, "<candidate>", "exec")
                    tree = ast.parse(source)
                except (SyntaxError, ValueError):
                    continue
                if imports_of(tree) <= imports and any(
                    isinstance(n, ast.FunctionDef) and n.name == ENTRY_POINT for n in tree.body
                ):
                    batch.append(source)
            if not batch:
                break
            for source, ev in zip(batch, self.evaluator.evaluate(batch, cases), strict=True):
                if ev.total and ev.passed == ev.total and source not in found:
                    found.append(source)
            self.evaluated += len(batch)
        return [Proposal(source=s, engine=self.name) for s in found[:count]]
