"""Promotions as Git branches: one commit on `sggit/promote/<phenotype>/<locus>` per pending promotion.

The commit branches from the phenotype branch tip and changes only the phenotype
map, so merging it (or `--auto`, a fast-forward) is exactly one reviewed phenotype
change, and `sggit rollback` undoes it. The commit message is a pull-request body,
with a stable title and a machine-readable block, as dependency bots write them,
so CI can find the promotion again and a newer one replaces the branch.
"""

from __future__ import annotations

import ast
import difflib
import json

import pygit2
from pydantic import BaseModel

from sggit.contract.tree import ContractTree
from sggit.errors import SggitError
from sggit.genome import phenostore
from sggit.genome import phenotype as ph
from sggit.genome.alleles import allele_source
from sggit.genome.damage import reason, warn
from sggit.genome.fitness import ByLocus, Counters, fitness
from sggit.genome.lineage import Lineage, read_lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import counters_by_host, live_counters, pending_records
from sggit.runtime.arena import Thresholds, promotion_candidate
from sggit.runtime.lifecycle import awaiting_review
from sggit.runtime.safety import policy_for

BRANCH_PREFIX = "refs/heads/sggit/promote/"
MARKER = "sggit-promotion:"


class Promotion(BaseModel):
    """One allele that has earned dominance at one locus, and why."""

    phenotype: str
    locus: str
    allele: str
    old: str | None = None
    reason: str
    risk: str | None = None
    score: float | None = None
    base: float | None = None

    @property
    def auto_allowed(self) -> bool:
        return policy_for(self.risk).auto_promote


class FitnessRow(BaseModel):
    role: str
    allele: str | None
    fitness: float
    immediate: str
    convergence: str
    resilience: str
    invocations: int
    hosts: int
    age: str = "-"


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(int(seconds // 60), 0)} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


class Written(BaseModel):
    """What `write_promotion` left behind."""

    promotion: Promotion
    branch: str
    commit: str
    title: str
    body: str
    fast_forwarded: bool = False
    unchanged: bool = False


def branch_name(phenotype: str, locus: str) -> str:
    return f"{BRANCH_PREFIX}{phenotype}/{locus}"


def title_for(p: Promotion) -> str:
    return f"sggit: promote {p.locus} to {p.allele[:12]} on {p.phenotype}"


def pending(genome: Genome, tree: ContractTree, phenotype: str) -> list[Promotion]:
    """The arena's verdict over live fitness, plus evolved alleles whose risk makes them wait for review."""
    pmap = phenostore.read_phenotype(genome, phenotype)
    counters = live_counters(genome)
    found: dict[str, Promotion] = {}
    for locus, entry in sorted(pmap.loci.items()):
        gene = tree.genes.get(locus)
        challengers = [a for a in entry.stack if a != entry.dominant]
        if gene is None or not challengers:
            continue
        verdict = promotion_candidate(counters.get(locus, {}), entry.dominant, challengers, Thresholds.for_locus(pmap, locus), entry.weights)
        if verdict is not None:
            allele, score, base = verdict
            found[locus] = Promotion(phenotype=phenotype, locus=locus, allele=allele, old=entry.dominant, reason="fitness", risk=gene.risk, score=score, base=base)
    risks = {name: gene.risk for name, gene in tree.genes.items()}
    for locus, allele in awaiting_review(genome, phenotype, risks):
        if locus not in found:
            found[locus] = Promotion(phenotype=phenotype, locus=locus, allele=allele, old=pmap.locus(locus).dominant, reason="review", risk=risks.get(locus))
    return [p for p in found.values() if has_required_evidence(p, counters)]


def has_required_evidence(promotion: Promotion, counters: ByLocus) -> bool:
    """Critical loci promote only alleles that have held up over time: resilience checks, all passed."""
    if not policy_for(promotion.risk).resilience_evidence:
        return True
    c = counters.get(promotion.locus, {}).get(promotion.allele)
    return c is not None and c.resilience_total > 0 and c.resilience_ok == c.resilience_total


def _ratio(ok: int, total: int) -> str:
    return f"{ok}/{total}" if total else "-"


def fitness_row(genome: Genome, role: str, locus: str, allele: str | None, counters: ByLocus) -> FitnessRow:
    c = counters.get(locus, {}).get(allele or "", Counters())
    hosts = set(counters_by_host(genome, locus, allele)) if allele else set()
    if allele and any(r.allele == allele and r.locus == locus for r in pending_records(genome)):
        hosts.add(genome.host)
    return FitnessRow(
        role=role, allele=allele, fitness=fitness(c), immediate=_ratio(c.successes, c.total),
        convergence=_ratio(c.convergence_ok, c.convergence_total), resilience=_ratio(c.resilience_ok, c.resilience_total),
        invocations=c.total, hosts=len(hosts), age=_allele_age(genome, locus, allele),
    )


def _allele_age(genome: Genome, locus: str, allele: str | None) -> str:
    """Time since the allele was registered, from its lineage note."""
    import time

    lineage = read_lineage(genome, locus, allele) if allele else None
    return _age(time.time() - lineage.time) if lineage is not None else "-"


def _normalised(source: str) -> str:
    """Both sides through ast.unparse, so a diff shows the change rather than the engine's formatting."""
    try:
        return ast.unparse(ast.parse(source)) + "\n"
    except (SyntaxError, ValueError):
        return source


def source_diff(genome: Genome, before: str | None, after: str) -> str:
    old = _normalised(allele_source(genome, before).decode("utf-8", "replace")).splitlines(keepends=True) if before else []
    new = _normalised(allele_source(genome, after).decode("utf-8", "replace")).splitlines(keepends=True)
    lines = difflib.unified_diff(old, new, f"a/{before[:12] if before else 'none'}.py", f"b/{after[:12]}.py")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines).rstrip("\n")


def _failure_text(lineage: Lineage | None) -> str | None:
    if lineage is None or lineage.failure is None:
        return None
    f = lineage.failure
    text = f"input: {json.dumps(f.input, sort_keys=True)}\nerror: {f.error}"
    if f.diagnostics:
        text += f"\ndiagnostics: {json.dumps(f.diagnostics, sort_keys=True, default=str)[:2000]}"
    return text


def render_body(genome: Genome, p: Promotion, *, rollback: str) -> str:
    from sggit.report import render

    counters = live_counters(genome)
    lineage = read_lineage(genome, p.locus, p.allele)
    parent = lineage.parents[0] if lineage and lineage.parents else None
    why = {
        "fitness": f"{p.allele[:12]} beats the dominant by the arena's margin ({p.score:.3f} over {p.base:.3f})." if p.score is not None and p.base is not None else "",
        "review": f"{p.allele[:12]} passed shadow and canary, but {p.locus} is {p.risk or 'high'} risk: promotion needs this reviewed change.",
        "heal": f"{p.allele[:12]} was found by `sggit heal` and passes every contract example and recorded failure.",
    }.get(p.reason, p.reason)
    machine = {"phenotype": p.phenotype, "locus": p.locus, "allele": p.allele, "old": p.old, "reason": p.reason, "risk": p.risk}
    return render(
        "promotion.md.j2",
        title=title_for(p),
        headline=why,
        table=[fitness_row(genome, "current", p.locus, p.old, counters), fitness_row(genome, "proposed", p.locus, p.allele, counters)],
        risk=p.risk or "high",
        policy=policy_for(p.risk).describe(),
        lineage=lineage,
        failure=_failure_text(lineage),
        parent=parent,
        old=p.old,
        diff=source_diff(genome, parent or p.old, p.allele),
        rollback=rollback,
        machine=json.dumps(machine, sort_keys=True).replace("--", "- -"),
    )


def write_promotion(genome: Genome, p: Promotion, *, auto: bool = False) -> Written:
    """Commit the promotion on its branch; with `auto`, fast-forward the phenotype too where risk allows."""
    repo = genome.repo
    ref = phenostore.phenotype_ref(p.phenotype)
    with genome.locked():
        phenostore.migrate(genome, p.phenotype)  # the pull request then shows only the promotion
        tip_oid = genome.target(ref)
        if tip_oid is None:
            raise SggitError(f"no phenotype {p.phenotype}")
        tip = repo[tip_oid].peel(pygit2.Commit)
        current = phenostore.read_phenotype(genome, p.phenotype)
        changed = ph.promote(current, p.locus, p.allele)
        if changed is None:
            raise SggitError(f"{p.allele[:12]} is already dominant at {p.locus} on {p.phenotype}")
        new_tree = phenostore.tree_with(genome, tip, p.phenotype, changed)
        title = title_for(p)
        body = render_body(genome, p, rollback=f"sggit rollback --phenotype {p.phenotype} $(git log -1 --format=%H --fixed-strings --grep='{title}' phenotype/{p.phenotype})")
        message = phenostore.compose_message(
            title,
            {"Sggit-Locus": p.locus, "Sggit-Allele": p.allele, "Sggit-Action": "promote",
             "Sggit-Fitness": None if p.score is None else f"{p.score:.4f}",
             "Sggit-Review": None if p.auto_allowed else "required"},
            body=body.split("\n", 1)[1] if "\n" in body else body,
        )
        branch = branch_name(p.phenotype, p.locus)
        previous = genome.target(branch)
        commit = _same_promotion(genome, previous, tip.id, new_tree, p)
        unchanged = commit is not None
        if commit is None:
            sig = genome.signature()
            commit = repo.create_commit(None, sig, sig, message, new_tree, [tip.id])
            if not genome.compare_and_swap(branch, commit, previous, f"promotion {p.locus}"):
                raise SggitError(f"{branch} moved while the promotion was written; try again")
        forwarded = False
        if auto and p.auto_allowed:
            forwarded = genome.compare_and_swap(ref, commit, tip.id, f"phenotype promote (fast-forward {branch})")
            if not forwarded:
                raise SggitError(f"phenotype/{p.phenotype} moved during the promotion; run `sggit promote` again")
    body = render_body(genome, p, rollback=f"sggit rollback --phenotype {p.phenotype} {commit}")
    return Written(promotion=p, branch=branch[len("refs/heads/"):], commit=str(commit), title=title, body=body, fast_forwarded=forwarded, unchanged=unchanged)


def _same_promotion(genome: Genome, previous: pygit2.Oid | None, tip: pygit2.Oid, tree: pygit2.Oid, p: Promotion) -> pygit2.Oid | None:
    """The branch's commit when it already makes this promotion on this phenotype tip.

    Writing it again would change only the fitness figures in the message, stale the
    rollback id a pull request shows, and churn the PR on every scheduled run.
    """
    if previous is None:
        return None
    commit = genome.repo[previous].peel(pygit2.Commit)
    trailers = phenostore.parse_trailers(commit.message)
    if commit.parent_ids == [tip] and commit.tree_id == tree and trailers.get("Sggit-Allele") == p.allele:
        return commit.id
    return None


def find_promotions(genome: Genome, phenotype: str | None = None) -> list[dict[str, object]]:
    """The machine-readable blocks of every promotion branch (what CI looks for)."""
    out: list[dict[str, object]] = []
    for name in sorted(r for r in genome.repo.references if r.startswith(BRANCH_PREFIX)):
        if phenotype is not None and not name.startswith(branch_name(phenotype, "")):
            continue
        target = genome.target(name)
        assert target is not None  # listed among the references just above
        commit = genome.repo[target].peel(pygit2.Commit)
        for line in commit.message.splitlines():
            if MARKER in line:
                try:
                    data = json.loads(line.split(MARKER, 1)[1].rsplit("-->", 1)[0])
                except (ValueError, RecursionError) as exc:
                    warn("promotion branch", name, f"its {MARKER} block is not JSON: {reason(exc)}")
                    continue
                if not isinstance(data, dict):
                    warn("promotion branch", name, f"its {MARKER} block is not a JSON object")
                    continue
                data["branch"] = name[len("refs/heads/"):]
                data["commit"] = str(commit.id)
                out.append(data)
    return out


__all__ = ["Promotion", "Written", "branch_name", "find_promotions", "pending", "render_body", "title_for", "write_promotion"]
