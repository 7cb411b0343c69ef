"""The blast-radius table: what a locus's declared risk demands before and after a run.

This table is the only place the levels are defined; every field is read by the
runtime (`attempt` for transaction and convergence, `lifecycle.admit` for shadow
first and canary, the arena and `sggit promote` for review and resilience), so
docs/lifecycle.md can state it exactly as it is enforced.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RiskPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    risk: str
    transaction: bool
    """gene_sdk calls are journalled with their inverse; a failed attempt is rolled back."""
    convergence_check: bool
    """The contract's verify runs after a success; an unhealthy verdict fails the attempt and rolls it back."""
    shadow_first: bool
    """A new allele replays the failing input and recent accepted inputs on a copy of the live host before any real run."""
    canary: bool
    """A new allele's first real run is a canary: undone when its diagnostics are unhealthy, then it waits for review."""
    review: bool
    """No allele becomes dominant, by promotion or by demotion of another, unless a reviewer approved it."""
    resilience_evidence: bool
    """Promotion also needs resilience records (scheduled diagnostics) for the candidate."""

    @property
    def auto_promote(self) -> bool:
        return not self.review

    def describe(self) -> str:
        parts = []
        if self.transaction:
            parts.append("transaction with automatic rollback")
        if self.convergence_check:
            parts.append("rollback if convergence fails")
        if self.shadow_first:
            parts.append("shadow run before a new allele's first real run")
        if self.canary:
            parts.append("canary")
        if self.resilience_evidence:
            parts.append("resilience evidence before promotion")
        parts.append("promotion only by a reviewed phenotype change" if self.review else "automatic promotion")
        if not parts[:-1]:
            parts.insert(0, "executes freely")
        return ", ".join(parts)


def _level(risk: str, *, transaction: bool = False, convergence_check: bool = False, shadow_first: bool = False,
           canary: bool = False, review: bool = False, resilience_evidence: bool = False) -> RiskPolicy:
    return RiskPolicy(risk=risk, transaction=transaction, convergence_check=convergence_check, shadow_first=shadow_first,
                      canary=canary, review=review, resilience_evidence=resilience_evidence)


# Each level adds to the one before it.
POLICIES: dict[str, RiskPolicy] = {
    "none": _level("none"),
    "low": _level("low", transaction=True),
    "medium": _level("medium", transaction=True, convergence_check=True),
    "high": _level("high", transaction=True, convergence_check=True, shadow_first=True, canary=True, review=True),
    "critical": _level("critical", transaction=True, convergence_check=True, shadow_first=True, canary=True, review=True,
                       resilience_evidence=True),
}


def policy_for(risk: str | None) -> RiskPolicy:
    """Unknown or missing risk is treated as the most careful reading that still runs: high."""
    return POLICIES.get(risk or "high", POLICIES["high"])


def risk_table() -> list[dict[str, object]]:
    """The table as rows, for docs and `sggit doctor --format json`."""
    return [policy.model_dump() | {"auto_promote": policy.auto_promote} for policy in POLICIES.values()]
