"""The organism's resilience watch: what was deployed, and its diagnostics run again later.

A successful top-level run is remembered with the diagnostics that judge it (the
gene's own, the diagnostic steps a pathway took, its `verify:` checks); `sggit
watch` re-runs them through the verifier, and their late results score the
producers on the resilience timescale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sggit.contract import nodes as n
from sggit.contract.tree import ContractTree
from sggit.errors import UsageError
from sggit.genome.repo import Genome
from sggit.runtime.temporal import CheckCall, Deployment, deployments, record_deployment
from sggit.runtime.values import ResolveError, bind, evaluate, resolve_ref
from sggit.runtime.verification import Verification, expand_checks


def unknown_target(tree: ContractTree, target: str) -> UsageError:
    """What a misspelt locus or pathway gets from every command that runs or watches one."""
    import difflib

    known = sorted(tree.genes) + sorted(tree.pathways)
    close = difflib.get_close_matches(target, known, n=1)
    return UsageError(f"unknown locus or pathway {target}", hint=f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}")


class Watch:
    def __init__(self, genome: Genome, tree: ContractTree, phenotype_name: str, verification: Verification) -> None:
        self.genome = genome
        self.tree = tree
        self.phenotype_name = phenotype_name
        self.verification = verification

    def deployed(self, target: str, kind: str, values: dict[str, Any], result: Any) -> None:
        """Remember a successful run and the diagnostics that judge it, for `sggit watch`."""
        checks: list[tuple[str, dict[str, Any]]] = []
        if kind == "locus":
            gene = self.tree.genes[target]
            if gene.family == "diagnostic":
                checks.append((target, values))
            if gene.verify is not None:
                checks += expand_checks(gene.verify.items, {**values, **(result if isinstance(result, dict) else {})})
        else:
            pathway = self.tree.pathways[target]
            outputs = {s.number: s.output for s in result.steps if s.status == "ok"}
            for step in pathway.steps:
                if step.number in outputs:
                    checks += self.step_diagnostics(step, values, outputs)
            if pathway.verify is not None:
                checks += expand_checks(pathway.verify.items, values)
        if checks:
            record_deployment(self.genome, Deployment(phenotype=self.phenotype_name, target=target, kind=kind, input=values, checks=[CheckCall(locus=locus, input=p) for locus, p in checks]))  # type: ignore[arg-type]

    def step_diagnostics(self, step: n.Step, values: dict[str, Any], outputs: dict[int, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The diagnostic calls a finished step made: plain, in each loop iteration, or in the branch taken."""
        body = step.body
        runs: list[tuple[n.Call, dict[str, Any]]] = []
        try:
            if isinstance(body, n.Call):
                runs = [(body, values)]
            elif isinstance(body, n.ForStep):
                items = evaluate(body.iterable, values, outputs)
                runs = [(call, {**values, body.var: item}) for item in (items if isinstance(items, list) else []) for call in body.body]
            else:
                flag = bool(resolve_ref(n.Ref(step=body.step, path=list(body.path)), {}, outputs))
                runs = [(b.call, values) for b in body.branches if b.when == flag]
        except ResolveError:
            return []
        found: list[tuple[str, dict[str, Any]]] = []
        for call, names in runs:
            gene = None if call.pathway else self.tree.genes.get(call.target)
            if gene is None or gene.family != "diagnostic":
                continue
            try:
                found.append((gene.name, bind(call.params, names, outputs)))
            except ResolveError:
                continue
        return found

    def watch(self, target: str, every: float, count: int, *, on_round: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """Re-run the diagnostics of every deployment of `target`, `count` times, `every` seconds apart.

        Late results are resilience evidence: they score the producers as resilience
        whatever timescale the feeds line names for convergence.
        """
        if target not in self.tree.genes and target not in self.tree.pathways:
            raise unknown_target(self.tree, target)
        deployed = deployments(self.genome, self.phenotype_name, target)
        if not deployed:
            raise UsageError(f"{target} has not been deployed in phenotype {self.phenotype_name}", hint=f"run it first: sggit run {target} --input ...")
        rounds: list[dict[str, Any]] = []
        for number in range(1, count + 1):
            if number > 1:
                self.verification.advance(every)
            for d in deployed:
                healthy, results = self.verification.run_checks([(c.locus, c.input) for c in d.checks], timescale="resilience")
                row = {"round": number, "clock": self.verification.clock()[0], "target": target, "input": d.input, "healthy": healthy, "checks": results}
                rounds.append(row)
                if on_round is not None:
                    on_round(row)
        return rounds
