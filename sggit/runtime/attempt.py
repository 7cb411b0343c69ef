"""What expressing a locus leaves behind, and what the organism's collaborators may ask of it.

The organism's collaborators (scoring, verification, watch, mutation and the
lifecycle, fusion) depend on this module, never on the organism: `Expression` names
the few things they need from the core, so the core can hand itself to them the
way `PathwayRunner` is handed an invoker, without an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sggit.errors import UsageError
from sggit.runtime.pathway import PathwayResult

if TYPE_CHECKING:
    from sggit.contract import nodes as n
    from sggit.contract.tree import ContractTree
    from sggit.engines.base import Engine
    from sggit.genome.fitness import Counters
    from sggit.genome.phenotype import PhenotypeMap
    from sggit.genome.repo import Genome
    from sggit.kernel.api import Kernel
    from sggit.kernel.transaction import Transaction

class CallerError(UsageError):
    """Input that does not satisfy `takes`: the caller's mistake, never scored against an allele."""


@dataclass
class Attempt:
    locus: str
    allele: str
    ok: bool
    output: Any = None
    error: str | None = None
    kind: str | None = None
    duration_ms: float = 0.0
    undo: list[str] = field(default_factory=list)
    undo_failures: list[str] = field(default_factory=list)
    convergence: bool | None = None
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    origin: str = "stack"
    transaction: Transaction | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "locus": self.locus,
            "allele": self.allele,
            "ok": self.ok,
            "error": self.error,
            "kind": self.kind,
            "duration_ms": round(self.duration_ms, 3),
            "undo": self.undo,
            "undo_failures": self.undo_failures,
            "convergence": self.convergence,
            "origin": self.origin,
        }


@dataclass
class RunResult:
    target: str
    kind: str
    ok: bool
    output: Any
    trace: list[Attempt]
    pathway: PathwayResult | None = None
    error: str | None = None
    events: list[str] = field(default_factory=list)
    verification: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"target": self.target, "kind": self.kind, "ok": self.ok, "output": self.output}
        if self.error:
            data["error"] = self.error
        if self.verification is not None:
            data["verify"] = self.verification
        if self.pathway is not None:
            data["pathway"] = self.pathway.as_json()
        return data


class Expression(Protocol):
    """The expression core as its collaborators see it."""

    genome: Genome
    tree: ContractTree
    phenotype_name: str
    kernel: Kernel
    pool: Any
    timeout: float
    engine: Engine
    max_mutations: int
    events: list[str]

    def phenotype(self) -> PhenotypeMap: ...

    def counters(self, locus: str) -> dict[str, Counters]: ...

    def stack(self, locus: str) -> list[str]: ...

    def source(self, allele: str) -> str: ...

    def attempt(
        self, gene: n.Gene, allele: str, data: dict[str, Any], *, verify: bool = True, origin: str = "stack", record: bool = True
    ) -> Attempt: ...

    def traced(self, attempt: Attempt) -> None: ...

    def holding(self) -> bool: ...
