"""The blast-radius table: what a locus's declared risk demands before and after a run."""

from __future__ import annotations

from pydantic import BaseModel


class RiskPolicy(BaseModel):
    risk: str
    transaction: bool
    convergence_check: bool
    shadow_first: bool
    auto_promote: bool
    canary: bool
    resilience_evidence: bool

    def describe(self) -> str:
        parts = []
        if self.transaction:
            parts.append("transaction")
        if self.convergence_check:
            parts.append("rollback if convergence fails")
        if self.shadow_first:
            parts.append("shadow run before a new allele's first real run")
        if self.canary:
            parts.append("canary")
        if self.resilience_evidence:
            parts.append("resilience evidence before promotion")
        parts.append("automatic promotion" if self.auto_promote else "promotion only by a reviewed phenotype change")
        return ", ".join(parts)


POLICIES: dict[str, RiskPolicy] = {
    "none": RiskPolicy(risk="none", transaction=False, convergence_check=False, shadow_first=False, auto_promote=True, canary=False, resilience_evidence=False),
    "low": RiskPolicy(risk="low", transaction=True, convergence_check=False, shadow_first=False, auto_promote=True, canary=False, resilience_evidence=False),
    "medium": RiskPolicy(risk="medium", transaction=True, convergence_check=True, shadow_first=False, auto_promote=True, canary=False, resilience_evidence=False),
    "high": RiskPolicy(risk="high", transaction=True, convergence_check=True, shadow_first=True, auto_promote=False, canary=False, resilience_evidence=False),
    "critical": RiskPolicy(risk="critical", transaction=True, convergence_check=True, shadow_first=True, auto_promote=False, canary=True, resilience_evidence=True),
}


def policy_for(risk: str | None) -> RiskPolicy:
    """Unknown or missing risk is treated as the most careful reading that still runs: high."""
    return POLICIES.get(risk or "high", POLICIES["high"])
