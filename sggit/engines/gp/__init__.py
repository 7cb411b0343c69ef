"""Genetic programming on the Python AST: the default mutation engine, needs no network."""

from sggit.engines.gp.cases import FAILING_CASE_MEANING, cases_for
from sggit.engines.gp.edits import ALL_OPS, Edit
from sggit.engines.gp.local import ProcessEvaluator
from sggit.engines.gp.search import GPEngine, SearchStats, patch_size

__all__ = [
    "ALL_OPS", "Edit", "FAILING_CASE_MEANING", "GPEngine", "ProcessEvaluator",
    "SearchStats", "cases_for", "patch_size",
]
