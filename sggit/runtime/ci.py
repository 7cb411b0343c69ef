"""What a CI pipeline and the pre-commit hooks run on a genome repository.

`ci_check` validates a pull request in one call: contracts, phenotype files and
genes (the same `check_paths` as `sggit check`), the canonical layout of `.sg`
files, the contract examples against every allele of each touched locus, and a
shadow replay of new alleles against the failing inputs the fleet has recorded.
`write_promotions` / `push_promotions` turn earned promotions into branches a bot
opens as pull requests.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from sggit.contract.errors import ContractError
from sggit.contract.fmt import format_document
from sggit.contract.parser import parse_text
from sggit.contract.tree import ContractTree, load_tree
from sggit.errors import UsageError
from sggit.genes import source_problems
from sggit.genome.alleles import allele_id, allele_source, alleles_at
from sggit.genome.repo import Genome
from sggit.project import CONTRACTS_DIR, GENOME_DIR, PHENOTYPES_DIR, check_paths

Status = Literal["ok", "failed", "skipped"]


class Finding(BaseModel):
    """One thing a reviewer should see: where, what, and whether it blocks the merge."""

    stage: str
    where: str
    message: str
    blocking: bool = True


class Stage(BaseModel):
    name: str
    status: Status
    summary: str


class CheckResult(BaseModel):
    base: str | None = None
    changed: list[str] = Field(default_factory=list)
    stages: list[Stage] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.blocking for f in self.findings)


@dataclass
class Candidate:
    """An allele to try: registered (id) or a seed file in the working tree (path)."""

    locus: str
    allele: str
    source: str
    where: str
    new: bool = False


def changed_files(root: Path, base: str) -> list[str]:
    """Paths a pull request changes against `base` (merge-base diff, like the PR view shows)."""
    done = subprocess.run(["git", "diff", "--name-only", "--diff-filter=ACMR", f"{base}...HEAD"], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise UsageError(f"cannot diff against {base}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'git failed'}", hint="fetch the base branch first (actions/checkout with fetch-depth: 0)")
    return [line for line in done.stdout.splitlines() if line]


def _locus_of(rel: str) -> str | None:
    parts = Path(rel).parts
    if len(parts) == 3 and parts[0] == GENOME_DIR and parts[2].endswith(".py"):
        return parts[1]
    return None


def touched_loci(root: Path, tree: ContractTree, paths: list[str]) -> set[str]:
    """Loci whose behaviour a change can alter: their contract or one of their seed files."""
    loci: set[str] = set()
    for rel in paths:
        locus = _locus_of(rel)
        if locus is not None:
            loci.add(locus)
        elif rel.startswith(f"{CONTRACTS_DIR}/") and rel.endswith(".sg"):
            loci.update(_genes_in(root / rel))
    return {locus for locus in loci if locus in tree.genes}


def _genes_in(path: Path) -> set[str]:
    try:
        doc = parse_text(path.read_text(encoding="utf-8"), str(path))
    except (ContractError, OSError, UnicodeDecodeError):
        return set()
    return {d.name for d in doc.definitions if getattr(d, "kind", None) == "gene"}


def candidates(root: Path, genome: Genome, loci: set[str], new_files: list[str]) -> list[Candidate]:
    """Every registered allele of the loci, plus working-tree seed files not registered yet."""
    out: dict[str, Candidate] = {}
    for locus in sorted(loci):
        for allele in alleles_at(genome, locus):
            out[allele] = Candidate(locus, allele, allele_source(genome, allele).decode("utf-8", "replace"), allele[:12])
        base = root / GENOME_DIR / locus
        for path in sorted(base.glob("*.py")) if base.is_dir() else []:
            data = path.read_bytes()
            allele = allele_id(data)
            rel = str(path.relative_to(root))
            if allele not in out:
                out[allele] = Candidate(locus, allele, data.decode("utf-8", "replace"), rel, new=True)
            elif rel in new_files:
                out[allele].where = rel
            if rel in new_files:
                out[allele].new = True
    return list(out.values())


def run_examples(root: Path, tree: ContractTree, genome: Genome, items: list[Candidate]) -> list[Finding]:
    """Contract examples against each candidate, in sandbox workers on a fresh mock kernel each."""
    from sggit.domains.membership import example_kernels
    from sggit.kernel.mock import MockKernel, default_description
    from sggit.runtime.conformance import conformance
    from sggit.runtime.sandbox import SandboxConfig, WorkerPool

    findings: list[Finding] = []
    runnable = [c for c in items if tree.genes[c.locus].examples and not source_problems(c.source)]
    if not runnable:
        return findings
    description = default_description()
    with WorkerPool(SandboxConfig()) as pool:
        for c in runnable:
            fresh = example_kernels(tree, tree.genes[c.locus], genome.state_dir) or (lambda: MockKernel(description))
            for row in conformance(tree.genes[c.locus], {c.allele: c.source}, pool, fresh):
                for r in row.results:
                    if not r.ok:
                        findings.append(Finding(stage="examples", where=f"{c.where} ({c.locus})", message=f"example {r.index + 1}: {r.detail}"))
    return findings


def shadow_replay(tree: ContractTree, genome: Genome, items: list[Candidate]) -> tuple[int, list[Finding]]:
    """New alleles against the inputs that made their locus fail on the fleet; informative, not blocking.

    A recorded failing input can be one no allele should accept, so a failure here
    is shown to the reviewer but does not fail the check.
    """
    from sggit.domains.membership import example_kernels
    from sggit.genome.sync import live_counters
    from sggit.kernel.mock import MockKernel, default_description
    from sggit.runtime.conformance import run_example
    from sggit.contract import nodes as n
    from sggit.runtime.sandbox import SandboxConfig, WorkerPool

    new = [c for c in items if c.new and not source_problems(c.source)]
    if not new:
        return 0, []
    inputs: dict[str, list[Any]] = {}
    for counters in live_counters(genome).values():
        if counters.locus and counters.last_failure is not None and isinstance(counters.last_failure.input, dict):
            inputs.setdefault(counters.locus, []).append(counters.last_failure.input)
    findings: list[Finding] = []
    replayed = 0
    with WorkerPool(SandboxConfig()) as pool:
        for c in new:
            gene = tree.genes[c.locus]
            for data in inputs.get(c.locus, []):
                replayed += 1
                example = n.Example(input=data, output={})
                fresh = example_kernels(tree, gene, genome.state_dir)
                detail = run_example(gene, c.allele, c.source, example, pool, fresh() if fresh else MockKernel(default_description()))
                if detail is not None:
                    findings.append(Finding(stage="shadow replay", where=f"{c.where} ({c.locus})", message=f"input {json.dumps(data, sort_keys=True)}: {detail}", blocking=False))
    return replayed, findings


def format_findings(root: Path, files: list[Path]) -> list[Finding]:
    out: list[Finding] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            if format_document(parse_text(text, str(path))) != text:
                out.append(Finding(stage="format", where=str(path.relative_to(root)), message="not in canonical layout; run `sggit fmt`"))
        except (ContractError, OSError, UnicodeDecodeError):
            continue  # the check stage reports what does not parse
    return out


def ci_check(root: Path, base: str | None = None, *, examples: bool = True) -> CheckResult:
    result = CheckResult(base=base)
    genome = Genome.open(root)
    changed = changed_files(root, base) if base else None
    result.changed = changed or []
    targets = [root / d for d in (CONTRACTS_DIR, PHENOTYPES_DIR, GENOME_DIR) if (root / d).is_dir()]
    report = check_paths(targets)
    for d in report.diagnostics:
        result.findings.append(Finding(stage="check", where=f"{d.path}:{d.line}:{d.column}", message=d.message, blocking=d.severity == "error"))
    result.stages.append(Stage(name="check", status="failed" if report.errors else "ok", summary=f"{len(report.files)} files, {len(report.errors)} errors"))

    sg = sorted((root / CONTRACTS_DIR).rglob("*.sg")) if (root / CONTRACTS_DIR).is_dir() else []
    fmt = format_findings(root, sg)
    result.findings.extend(fmt)
    result.stages.append(Stage(name="format", status="failed" if fmt else "ok", summary=f"{len(fmt)} of {len(sg)} contracts need `sggit fmt`"))

    contracts_broken = any(d.severity == "error" and Path(d.path).suffix == ".sg" for d in report.diagnostics)
    if not examples or contracts_broken:
        reason = "not requested (--no-examples)" if not examples else "contracts do not check"
        result.stages.append(Stage(name="examples", status="skipped", summary=reason))
        return result
    tree = load_tree(root / CONTRACTS_DIR)
    loci = touched_loci(root, tree, changed) if changed is not None else set(tree.genes)
    items = candidates(root, genome, loci, changed or [])
    failures = run_examples(root, tree, genome, items)
    result.findings.extend(failures)
    result.stages.append(Stage(name="examples", status="failed" if failures else "ok", summary=f"{len(items)} alleles at {len(loci)} loci, {len(failures)} failing examples"))
    replayed, shadow = shadow_replay(tree, genome, items)
    result.findings.extend(shadow)
    result.stages.append(Stage(name="shadow replay", status="ok", summary=f"{replayed} recorded failing inputs replayed on new alleles, {len(shadow)} still failing"))
    return result


def render_markdown(result: CheckResult) -> str:
    icon = {"ok": "✅", "failed": "❌", "skipped": "⏭️"}
    lines = [f"## sggit ci check: {'passed' if result.ok else 'failed'}", ""]
    if result.base:
        lines += [f"Against `{result.base}`: {len(result.changed)} changed file(s).", ""]
    lines += ["| stage | result | |", "|---|---|---|"]
    lines += [f"| {s.name} | {icon[s.status]} {s.status} | {s.summary} |" for s in result.stages]
    if result.findings:
        lines += ["", "| stage | where | problem | blocks |", "|---|---|---|---|"]
        for f in result.findings:
            message = f.message.replace("|", "\\|")
            lines.append(f"| {f.stage} | `{f.where}` | {message} | {'yes' if f.blocking else 'no'} |")
    return "\n".join(lines) + "\n"


def examples_for_files(root: Path, files: list[Path]) -> tuple[list[Candidate], set[str], list[Finding]]:
    """The alleles some files touch (seeds, or every allele of a changed contract) against their examples."""
    tree = load_tree(root / CONTRACTS_DIR)
    genome = Genome.open(root)
    rel = [str(p.resolve().relative_to(root)) for p in files if p.exists()]
    seeds = [r for r in rel if _locus_of(r)]
    contract_loci = touched_loci(root, tree, [r for r in rel if r.startswith(f"{CONTRACTS_DIR}/")])
    loci = contract_loci | touched_loci(root, tree, seeds)
    items = [c for c in candidates(root, genome, loci, seeds) if c.locus in contract_loci or c.where in seeds]
    return items, loci, run_examples(root, tree, genome, items)


class PromotionFile(BaseModel):
    """One pull request a pipeline should open or update: what `ci promote` leaves in promotions.json."""

    phenotype: str
    locus: str
    allele: str
    branch: str
    base: str
    commit: str
    title: str
    body_file: str
    auto_allowed: bool
    pushed: bool = False


def write_promotions(root: Path, phenotypes: list[str], out: Path) -> list[PromotionFile]:
    """Every pending promotion as a branch commit, with its pull-request body in `out`."""
    from sggit.fsutil import atomic_write_text
    from sggit.genome import phenostore
    from sggit.runtime.promotion import pending, write_promotion

    genome = Genome.open(root)
    tree = load_tree(root / CONTRACTS_DIR)
    names = phenotypes or phenostore.phenotype_names(genome)
    out.mkdir(parents=True, exist_ok=True)
    files: list[PromotionFile] = []
    for name in names:
        phenostore.read_phenotype(genome, name)
        for promotion in pending(genome, tree, name):
            written = write_promotion(genome, promotion)
            body = out / f"{name}__{promotion.locus}.md"
            atomic_write_text(body, written.body)
            files.append(PromotionFile(
                phenotype=name, locus=promotion.locus, allele=promotion.allele, branch=written.branch,
                base=f"phenotype/{name}", commit=written.commit, title=written.title, body_file=str(body),
                auto_allowed=promotion.auto_allowed,
            ))
    return files


def push_promotions(root: Path, remote: str, files: list[PromotionFile]) -> None:
    """Push promotion branches, replacing only what the remote held when we looked (force-with-lease).

    A promotion branch belongs to the pipeline: a newer promotion replaces it. The
    lease makes sure a branch someone pushed to meanwhile is not clobbered.
    """
    from sggit.genome.fleet import FleetError

    for f in files:
        ref = f"refs/heads/{f.branch}"
        seen = subprocess.run(["git", "ls-remote", "--refs", remote, ref], cwd=root, capture_output=True, text=True)
        if seen.returncode != 0:
            raise FleetError(f"cannot reach {remote}: {seen.stderr.strip().splitlines()[-1] if seen.stderr.strip() else 'git failed'}")
        expected = seen.stdout.split()[0] if seen.stdout.strip() else ""
        done = subprocess.run(["git", "push", "--quiet", f"--force-with-lease={ref}:{expected}", remote, f"{ref}:{ref}"], cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            raise FleetError(f"{remote} refused {f.branch}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'git failed'}", hint="someone pushed to the promotion branch; run the job again")
        f.pushed = True
