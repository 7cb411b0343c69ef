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
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pygit2
from pydantic import BaseModel, Field

from sggit.contract.errors import ContractError
from sggit.contract.fmt import format_document
from sggit.contract.parser import parse_text
from sggit.contract.tree import ContractTree, load_tree
from sggit.errors import SggitError, UsageError
from sggit.genes import source_problems
from sggit.genome.alleles import allele_id, allele_source, alleles_at, loci_of
from sggit.genome.gitproc import git_reason, require_remote, run_git
from sggit.genome.phenolayout import read_files, read_tree
from sggit.genome.phenotype import LocusMap, PhenotypeMap
from sggit.genome.repo import Genome
from sggit.genome.said import failure_detail
from sggit.project import CONTRACTS_DIR, GENOME_DIR, PHENOTYPES_DIR, check_paths, find_root

Status = Literal["ok", "failed", "skipped"]


class Finding(BaseModel):
    """One thing a reviewer should see: where, what, and whether it blocks the merge."""

    stage: str
    where: str
    message: str
    blocking: bool = True
    hint: str | None = None
    source_line: str | None = None
    column: int | None = None


class Stage(BaseModel):
    name: str
    status: Status
    summary: str


class CheckResult(BaseModel):
    base: str | None = None
    contracts_from: str | None = None
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
    """Paths a pull request changes against `base` (merge-base diff, like the PR view shows).

    `base` is resolved first: git's diff answers an unknown revision with its
    usage line, which says nothing of the branch that is missing.
    """
    known = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], cwd=root, capture_output=True, text=True)
    if known.returncode != 0:
        raise UsageError(f"cannot diff against {base}: there is no revision {base} here", hint=_base_hint(root))
    done = subprocess.run(["git", "diff", "--name-only", "--diff-filter=ACMR", f"{base}...HEAD"], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise UsageError(f"cannot diff against {base}: {git_reason(done.stderr)}", hint="fetch the base branch first (actions/checkout with fetch-depth: 0)")
    return [line for line in done.stdout.splitlines() if line]


def _base_hint(root: Path, shown: int = 8) -> str:
    """The branches a `--base` could name here, and how a pipeline gets the one it meant."""
    listed = subprocess.run(["git", "for-each-ref", "--format=%(refname:short)", "refs/heads/", "refs/remotes/"],
                            cwd=root, capture_output=True, text=True).stdout.split()
    branches = [b for b in listed if not b.endswith("/HEAD") and not b.startswith(("sggit/", "phenotype/"))]
    fetch = "fetch the base branch first (actions/checkout with fetch-depth: 0), or name another with --base"
    if not branches:
        return fetch
    more = f" and {len(branches) - shown} more" if len(branches) > shown else ""
    return f"branches here: {', '.join(branches[:shown])}{more}; {fetch}"


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
                        findings.append(Finding(stage="examples", where=f"{c.where} ({c.locus})", message=f"example {r.index + 1}: {failure_detail(r.detail or 'failed')}"))
    return findings


def shadow_replay(tree: ContractTree, genome: Genome, items: list[Candidate]) -> tuple[int, list[Finding]]:
    """New alleles against the inputs that made their locus fail on the fleet; informative, not blocking.

    A recorded failing input can be one no allele should accept, so a failure here
    is shown to the reviewer but does not fail the check.
    """
    from sggit.domains.membership import example_kernels
    from sggit.genome.sync import live_counters
    from sggit.kernel.mock import MockKernel, default_description
    from sggit.runtime.call import call_allele, checked_input, judge
    from sggit.runtime.sandbox import SandboxConfig, WorkerPool

    new = [c for c in items if c.new and not source_problems(c.source)]
    if not new:
        return 0, []
    inputs: dict[str, list[Any]] = {}
    for locus, alleles in live_counters(genome).items():
        for counters in alleles.values():
            if locus and counters.last_failure is not None and isinstance(counters.last_failure.input, dict):
                inputs.setdefault(locus, []).append(counters.last_failure.input)
    findings: list[Finding] = []
    replayed = 0
    with WorkerPool(SandboxConfig()) as pool:
        for c in new:
            gene = tree.genes[c.locus]
            for data in inputs.get(c.locus, []):
                replayed += 1
                checked, detail = checked_input(gene, data)
                if detail is None:
                    fresh = example_kernels(tree, gene, genome.state_dir)
                    call = call_allele(pool, gene, c.allele, c.source, checked, fresh() if fresh else MockKernel(default_description()), timeout=5.0)
                    detail = judge(gene, call.outcome).error
                if detail is not None:
                    findings.append(Finding(stage="shadow replay", where=f"{c.where} ({c.locus})", message=f"input {json.dumps(data, sort_keys=True)}: {failure_detail(detail)}", blocking=False))
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


def ci_check(root: Path, base: str | None = None, *, examples: bool = True, project: Path | None = None, contracts_from: str | None = None) -> CheckResult:
    """Check a pull request of the repository at `root`.

    `project` is where contracts/, genome/ and phenotypes/ are read (default `root`);
    a promotion branch's check reads them from a scratch directory that joins the
    main branch's contracts with the branch's phenotypes (see `check_at`).
    """
    project = project or root
    result = CheckResult(base=base, contracts_from=contracts_from)
    genome = Genome.open(root)
    changed = changed_files(root, base) if base else None
    result.changed = changed or []
    targets = [project / d for d in (CONTRACTS_DIR, PHENOTYPES_DIR, GENOME_DIR) if (project / d).is_dir()]
    if contracts_from is not None:
        targets = [project / PHENOTYPES_DIR]
    report = check_paths(targets)
    for d in report.diagnostics:
        rel = _shown_path(project, d.path, contracts_from)
        result.findings.append(Finding(
            stage="check", where=f"{rel}:{d.line}:{d.column}", message=d.message, blocking=d.severity == "error",
            hint=d.hint, source_line=d.source_line, column=d.column,
        ))
    result.stages.append(Stage(name="check", status="failed" if report.errors else "ok", summary=f"{len(report.files)} files, {len(report.errors)} errors"))

    if contracts_from is not None:
        result.stages.append(Stage(name="format", status="skipped", summary=f"contracts are not part of this branch; read from {contracts_from}"))
    else:
        sg = sorted((project / CONTRACTS_DIR).rglob("*.sg")) if (project / CONTRACTS_DIR).is_dir() else []
        fmt = format_findings(project, sg)
        result.findings.extend(fmt)
        result.stages.append(Stage(name="format", status="failed" if fmt else "ok", summary=f"{len(fmt)} of {len(sg)} contracts need `sggit fmt`"))

    contracts_broken = any(d.severity == "error" and Path(d.path).suffix == ".sg" for d in report.diagnostics)
    if contracts_broken or report.errors and contracts_from is not None:
        result.stages.append(Stage(name="examples", status="skipped", summary="contracts do not check" if contracts_broken else "phenotype files do not check"))
        return result
    tree = load_tree(project / CONTRACTS_DIR)
    named, missing = phenotype_candidates(root, project, genome, base, changed or [])
    result.findings.extend(missing)
    if contracts_from is not None or any(_is_phenotype(r) for r in result.changed):
        result.stages.append(Stage(
            name="phenotype", status="failed" if missing else "ok",
            summary=f"{len(named) + len(missing)} allele(s) the change expresses or promotes, {len(missing)} not in the genome",
        ))
    if not examples:
        result.stages.append(Stage(name="examples", status="skipped", summary="not requested (--no-examples)"))
        return result
    loci = touched_loci(project, tree, changed) if changed is not None else set(tree.genes)
    if contracts_from is not None:
        loci = set()
    items = candidates(project, genome, loci, changed or [])
    seen = {c.allele for c in items}
    items += [c for c in named if c.allele not in seen and c.locus in tree.genes]
    loci |= {c.locus for c in items}
    failures = run_examples(project, tree, genome, items)
    result.findings.extend(failures)
    result.stages.append(Stage(name="examples", status="failed" if failures else "ok", summary=f"{len(items)} alleles at {len(loci)} loci, {len(failures)} failing examples"))
    replayed, shadow = shadow_replay(tree, genome, items)
    result.findings.extend(shadow)
    result.stages.append(Stage(name="shadow replay", status="ok", summary=f"{replayed} recorded failing inputs replayed on new alleles, {len(shadow)} still failing"))
    return result


def _shown_path(project: Path, path: str, contracts_from: str | None) -> str:
    """A diagnostic's path as the repository names it (relative), or `<ref>:path` for borrowed contracts."""
    try:
        rel = str(Path(path).resolve().relative_to(project.resolve()))
    except ValueError:
        return path
    if contracts_from is not None and not rel.startswith(f"{PHENOTYPES_DIR}/"):
        return f"{contracts_from}:{rel}"
    return rel


def _is_phenotype(rel: str) -> bool:
    return _map_head(rel) is not None


def _map_head(rel: str) -> str | None:
    """The map a changed file belongs to: `phenotypes/<name>.toml` itself, or one of its allele files."""
    parts = Path(rel).parts
    if len(parts) < 2 or parts[0] != PHENOTYPES_DIR or not parts[-1].endswith(".toml"):
        return None
    return rel if len(parts) == 2 else f"{PHENOTYPES_DIR}/{parts[1]}.toml"


def _map_at_base(root: Path, base: str, rel: str) -> PhenotypeMap | None:
    try:
        repo = pygit2.Repository(pygit2.discover_repository(str(root)))
        tree = repo.revparse_single(base).peel(pygit2.Tree)
        return read_tree(repo, tree, Path(rel).stem, base).pmap
    except (KeyError, ValueError, TypeError, pygit2.GitError, SggitError):
        return None


def _states(entry: LocusMap) -> dict[str, str]:
    states: dict[str, str] = {a: s.state for a, s in entry.alleles.items()}
    return states | ({entry.dominant: "dominant"} if entry.dominant else {})


EXPRESSED = ("dominant", "recessive", "canary")


def phenotype_candidates(root: Path, project: Path, genome: Genome, base: str | None, changed: list[str]) -> tuple[list[Candidate], list[Finding]]:
    """Alleles a changed phenotype file newly expresses (or promotes), and those missing from the genome.

    A promotion pull request changes only a phenotype map; what it must prove is
    that the alleles it moves into the stack exist and pass their contract's examples.
    """
    found: dict[tuple[str, str], Candidate] = {}
    missing: list[Finding] = []
    for rel in sorted({h for r in changed if (h := _map_head(r)) is not None}):
        try:
            head = read_files(project / rel).pmap
        except SggitError:
            continue  # the check stage located the problem
        before = _map_at_base(root, base, rel) if base else None
        for locus, entry in sorted(head.loci.items()):
            old = _states(before.locus(locus)) if before is not None else {}
            moved = [
                a for a, state in _states(entry).items()
                if state in EXPRESSED and (old.get(a) not in EXPRESSED or state == "dominant" != old.get(a))
            ]
            for allele in sorted(moved):
                try:
                    source = allele_source(genome, allele).decode("utf-8", "replace")
                except SggitError:
                    missing.append(Finding(
                        stage="phenotype", where=f"{rel} ({locus})", message=f"allele {allele[:12]} is not in the genome",
                        hint="fetch the fleet's alleles first (`sggit pull origin`), or push them from the host that made them",
                    ))
                    continue
                registered = loci_of(genome, allele)
                if registered and locus not in registered:
                    missing.append(Finding(stage="phenotype", where=f"{rel} ({locus})", message=f"allele {allele[:12]} is registered at {', '.join(registered)}, not {locus}"))
                    continue
                found[(locus, allele)] = Candidate(locus, allele, source, f"{rel} {allele[:12]}", new=True)
    return list(found.values()), missing


MAIN_CANDIDATES = ("main", "master")


def _has_contracts(root: Path, ref: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{ref}:{CONTRACTS_DIR}"], cwd=root, capture_output=True).returncode == 0


def main_ref(root: Path, given: str | None = None, remote: str = "origin") -> str:
    """The ref whose contracts govern a promotion branch: given, else the genome's main branch, fetched if needed.

    Tried in order: `--main`, `git config sggit.main`, the remote's HEAD, then
    `main`/`master` on the remote and locally; when none holds contracts/, the
    remote's default branch is fetched once.
    """
    configured = subprocess.run(["git", "config", "sggit.main"], cwd=root, capture_output=True, text=True).stdout.strip()
    tries = [t for t in (given, configured or None) if t]
    head = subprocess.run(["git", "symbolic-ref", "-q", "--short", f"refs/remotes/{remote}/HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    tries += [t for t in (head,) if t] + [f"{remote}/{n}" for n in MAIN_CANDIDATES] + list(MAIN_CANDIDATES)
    for ref in tries:
        if _has_contracts(root, ref):
            return ref
    if given:
        raise UsageError(f"{given} holds no {CONTRACTS_DIR}/", hint="name the genome's main branch with --main")
    names = _remote_default(root, remote)
    for name in names:
        fetched = subprocess.run(["git", "fetch", "--quiet", remote, f"+refs/heads/{name}:refs/remotes/{remote}/{name}"], cwd=root, capture_output=True, text=True)
        if fetched.returncode == 0 and _has_contracts(root, f"{remote}/{name}"):
            return f"{remote}/{name}"
    raise UsageError(
        "this checkout has no contracts/ and no main branch with contracts was found",
        hint=f"fetch the genome's main branch (git fetch {remote} main) or name it with --main REF",
    )


def _remote_default(root: Path, remote: str) -> list[str]:
    import os

    try:
        done = subprocess.run(["git", "ls-remote", "--symref", remote, "HEAD"], cwd=root, capture_output=True, text=True,
                              env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}, timeout=60)
    except subprocess.TimeoutExpired:
        return list(MAIN_CANDIDATES)
    names: list[str] = []
    for line in done.stdout.splitlines():
        if line.startswith("ref: refs/heads/"):
            names.append(line.split()[1].removeprefix("refs/heads/"))
    return names + [n for n in MAIN_CANDIDATES if n not in names]


def _extract(genome: Genome, ref: str, folders: tuple[str, ...], into: Path) -> None:
    commit = genome.repo.revparse_single(ref).peel(pygit2.Commit)
    for folder in folders:
        try:
            sub = commit.tree[folder]
        except KeyError:
            continue
        tree = genome.repo[sub.id]
        assert isinstance(tree, pygit2.Tree)  # the genome's folders are trees
        _write_tree(genome.repo, tree, into / folder)


def _write_tree(repo: pygit2.Repository, tree: pygit2.Tree, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for item in tree:
        obj = repo[item.id]
        if isinstance(obj, pygit2.Tree):
            _write_tree(repo, obj, into / (item.name or ""))
        elif isinstance(obj, pygit2.Blob):
            (into / (item.name or "")).write_bytes(obj.data)


def check_at(cwd: Path, base: str | None = None, *, examples: bool = True, main: str | None = None) -> CheckResult:
    """`sggit ci check` from wherever a pipeline checked out: a genome project, or a promotion branch.

    A promotion branch (`sggit/promote/<phenotype>/<locus>`) holds only phenotypes/:
    it is checked against the contracts and seeds of the genome's main branch.
    """
    root = find_root(cwd)
    if root is not None and main is None:
        return ci_check(root, base, examples=examples)
    genome = Genome.open(cwd)
    workdir = genome.workdir
    if workdir is None or not (workdir / PHENOTYPES_DIR).is_dir():
        raise UsageError("not in a genome project (no contracts/ or phenotypes/ here or above)", hint="run `sggit init` first")
    ref = main_ref(workdir, main)
    with tempfile.TemporaryDirectory(prefix="sggit-ci-") as tmp:
        project = Path(tmp)
        _extract(genome, ref, (CONTRACTS_DIR, GENOME_DIR), project)
        shutil.copytree(workdir / PHENOTYPES_DIR, project / PHENOTYPES_DIR)
        return ci_check(workdir, base, examples=examples, project=project, contracts_from=ref)


def render_text(result: CheckResult) -> str:
    """Findings as `sggit check` prints diagnostics: located, the line, a caret, the hint."""
    out: list[str] = []
    for f in result.findings:
        out.append(f"{f.where}: {f.stage}: {f.message}" + ("" if f.blocking else " (not blocking)"))
        if f.source_line is not None:
            out.append(f"  {f.source_line.rstrip()}")
            out.append("  " + " " * max((f.column or 1) - 1, 0) + "^")
        if f.hint:
            out.append(f"  hint: {f.hint}")
    return "\n".join(out) + ("\n" if out else "")


def render_markdown(result: CheckResult) -> str:
    icon = {"ok": "✅", "failed": "❌", "skipped": "⏭️"}
    lines = [f"## sggit ci check: {'passed' if result.ok else 'failed'}", ""]
    if result.base:
        lines += [f"Against `{result.base}`: {len(result.changed)} changed file(s).", ""]
    if result.contracts_from:
        lines += [f"A promotion branch: phenotypes checked against the contracts of `{result.contracts_from}`.", ""]
    lines += ["| stage | result | |", "|---|---|---|"]
    lines += [f"| {s.name} | {icon[s.status]} {s.status} | {s.summary} |" for s in result.stages]
    if result.findings:
        lines += ["", "| stage | where | problem | blocks |", "|---|---|---|---|"]
        for f in result.findings:
            message = f.message.replace("|", "\\|")
            lines.append(f"| {f.stage} | `{f.where}` | {message} | {'yes' if f.blocking else 'no'} |")
    return "\n".join(lines) + "\n"


def examples_for_files(root: Path, files: list[Path]) -> tuple[list[Candidate], set[str], list[Finding]] | None:
    """The alleles some files touch (seeds, or every allele of a changed contract) against their examples.

    None when the contracts do not check: `sggit check` (the sggit-check hook)
    reports why, once; examples cannot run against contracts that do not load.
    """
    try:
        tree = load_tree(root / CONTRACTS_DIR)
    except ContractError:
        return None
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
    unchanged: bool = False


def write_promotions(root: Path, phenotypes: list[str], out: Path) -> list[PromotionFile]:
    """Every pending promotion as a branch commit, with its pull-request body in `out`."""
    from sggit.app.promotion import pending, write_promotion
    from sggit.fsutil import atomic_write_text
    from sggit.genome import phenostore

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
                auto_allowed=promotion.auto_allowed, unchanged=written.unchanged,
            ))
    return files


def push_promotions(root: Path, remote: str, files: list[PromotionFile]) -> None:
    """Push the phenotype branches the pull requests target, then each promotion branch.

    The base goes through the fleet push (fast-forward only), so a pull request
    never targets a phenotype tip the remote lacks. A promotion branch belongs to
    the pipeline: a newer promotion replaces it, with a lease so that a branch
    someone pushed to meanwhile is not clobbered.
    """
    from sggit.genome.fleet import FleetError, push

    genome = Genome.open(root)
    require_remote(genome.git_dir, remote)
    if files:
        report = push(genome, remote)
        if not report.ok:
            refs = ", ".join(c.ref for c in report.conflicts) or ", ".join(report.rejected)
            raise FleetError(f"cannot push the phenotype branches to {remote}: {refs}", hint="run `sggit pull` and resolve the conflict, then run the job again")
    for f in files:
        ref = f"refs/heads/{f.branch}"
        seen = _git(genome, "ls-remote", "--refs", remote, ref)
        if seen.returncode != 0:
            raise FleetError(f"cannot reach {remote}: {git_reason(seen.stderr)}")
        expected = seen.stdout.split()[0] if seen.stdout.strip() else ""
        if expected == f.commit:
            f.pushed = True
            continue
        done = _git(genome, "push", "--quiet", f"--force-with-lease={ref}:{expected}", remote, f"{ref}:{ref}")
        if done.returncode != 0:
            raise FleetError(f"{remote} refused {f.branch}: {git_reason(done.stderr)}", hint="someone pushed to the promotion branch; run the job again")
        f.pushed = True


def _git(genome: Genome, *args: str) -> subprocess.CompletedProcess[str]:
    """git for the network, as the fleet sync runs it: killed with us, never prompting for a password."""
    from sggit.genome.fleet import FleetError

    try:
        return run_git(genome.git_dir, args)
    except OSError as exc:
        raise FleetError(f"cannot run git: {exc.strerror or exc}", hint="sggit ci promote --push needs the git binary on PATH") from None


def _pre_commit() -> str | None:
    """pre-commit on PATH, or installed beside this Python (a virtualenv not activated)."""
    import sys

    beside = Path(sys.executable).parent / "pre-commit"
    return shutil.which("pre-commit") or (str(beside) if beside.is_file() else None)


def install_git_hook(root: Path) -> tuple[bool, str]:
    """Install the git hook that runs `.pre-commit-config.yaml`, when pre-commit is available.

    Returns whether the hook is in place and what to tell the user. Without it the
    hooks `sggit init` configures would run on no commit.
    """
    if not (root / ".pre-commit-config.yaml").is_file():
        return False, "no .pre-commit-config.yaml here"
    hook = subprocess.run(["git", "rev-parse", "--git-path", "hooks/pre-commit"], cwd=root, capture_output=True, text=True).stdout.strip()
    hook_path = root / hook if hook else None
    if hook_path is not None and hook_path.is_file() and "pre-commit" in hook_path.read_text(errors="replace"):
        return True, "the pre-commit git hook is installed"
    exe = _pre_commit()
    if exe is None:
        return False, "pre-commit is not installed, so no hook runs on commit: `pip install pre-commit && pre-commit install`"
    done = subprocess.run([exe, "install"], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        return False, f"`pre-commit install` failed ({last}); run it once this is fixed"
    return True, "installed the pre-commit git hook: the hooks run on every commit"
