"""`sggit init`: scaffold a genome project in a git repository and register its seeds.

Files are copied into the working tree only where none exist (a user's file is
never overwritten); seeds are registered on sggit/genome with `seed` lineage;
each phenotype gets its `phenotype/<name>` branch. Every step is idempotent,
so a second run changes nothing and reports exactly that.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from sggit.contract import load_tree
from sggit.contract.tree import ContractTree
from sggit.errors import SggitError, UsageError
from sggit.fsutil import atomic_write_text
from sggit.genes import source_problems
from sggit.genome.alleles import NewAllele, register_alleles
from sggit.genome.lineage import Lineage
from sggit.genome.phenostore import (
    change_phenotype,
    create_phenotype,
    phenotype_names,
    read_phenotype,
    register_in_phenotype,
)
from sggit.genome.phenotype import LocusMap, PhenotypeMap, load_phenotype_file, set_state
from sggit.genome.repo import Genome
from sggit.shipped import shipped_root

SCAFFOLD_DIRS = ("contracts", "genome", "phenotypes")
IGNORE_LINE = "/.sggit/"
# Runs the hook through hooks/sggit-hook (installed with sggit), and when sggit is
# not on PATH says what to do rather than "Executable not found".
HOOK_ENTRY = (
    "sh -c 'command -v sggit-hook >/dev/null 2>&1 && exec sggit-hook \"$@\"; "
    "echo \"sggit is not on PATH, and this hook needs it. Activate the virtualenv where sggit is installed "
    "(or install it, see docs/workflow.md) and commit again; git commit --no-verify skips the hooks once.\" >&2; exit 1' --"
)
PRE_COMMIT = """\
# sggit's pre-commit hooks (the ids of sggit's .pre-commit-hooks.yaml), run by the
# sggit installed here, so hooks and runtime are one version and work offline.
# To pin the hooks instead: `repo: <sggit's git URL>`, `rev: <tag>`, same ids.
repos:
  - repo: local
    hooks:
      - id: sggit-check
        name: sggit check (contracts and phenotype files)
        entry: {entry} check
        language: system
        files: ^(contracts/.*\\.sg|phenotypes/.*\\.toml)$
        require_serial: true
      - id: sggit-fmt
        name: sggit fmt (canonical .sg layout)
        entry: {entry} fmt
        language: system
        files: \\.sg$
        require_serial: true
      - id: sggit-check-genes
        name: sggit check genes (allele sources)
        entry: {entry} check-genes
        language: system
        files: ^genome/[^/]+/[^/]+\\.py$
        require_serial: true
      - id: sggit-test
        name: sggit test (contract examples)
        entry: {entry} test
        language: system
        files: ^(contracts/genes/.*\\.sg|genome/[^/]+/[^/]+\\.py)$
        require_serial: true
""".replace("{entry}", HOOK_ENTRY)


@dataclass
class InitReport:
    root: str
    created_repo: bool = False
    files_created: list[str] = field(default_factory=list)
    files_kept: list[str] = field(default_factory=list)
    alleles_registered: list[str] = field(default_factory=list)
    alleles_known: int = 0
    phenotypes_created: list[str] = field(default_factory=list)
    phenotype_changes: list[str] = field(default_factory=list)
    phenotypes_followed: dict[str, str] = field(default_factory=dict)
    """Existing phenotypes given the topology or bindings their files now say: name -> what changed."""

    @property
    def changed(self) -> bool:
        return bool(self.created_repo or self.files_created or self.alleles_registered or self.phenotypes_created
                    or self.phenotype_changes or self.phenotypes_followed)


def _copy_missing(source: Path, target: Path, report: InitReport, contracts_under: str | None = None) -> None:
    """Copy what the target lacks; `contracts_under` puts the contracts in `contracts/<it>/`."""
    for sub in SCAFFOLD_DIRS:
        src = source / sub
        (target / sub).mkdir(parents=True, exist_ok=True)
        if not src.is_dir():
            continue
        for path in sorted(src.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(source)
            if contracts_under and sub == "contracts":
                rel = Path(sub) / contracts_under / path.relative_to(src)
            dest = target / rel
            if dest.exists():
                if dest.read_bytes() != path.read_bytes():
                    report.files_kept.append(str(rel))
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            report.files_created.append(str(rel))


def _scaffold_files(target: Path, report: InitReport) -> None:
    pre = target / ".pre-commit-config.yaml"
    if not pre.exists():
        atomic_write_text(pre, PRE_COMMIT)
        report.files_created.append(pre.name)
    ignore = target / ".gitignore"
    text = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    if IGNORE_LINE not in text.splitlines():
        prefix = text if not text or text.endswith("\n") else text + "\n"
        atomic_write_text(ignore, prefix + "# sggit's local scratch state\n" + IGNORE_LINE + "\n")
        report.files_created.append(".gitignore" if not text else ".gitignore (entry)")


def contract_loci(root: Path) -> tuple[list[str], ContractTree | None]:
    """Locus names of a project: its gene contracts."""
    contracts = root / "contracts"
    if not contracts.is_dir() or not any(contracts.rglob("*.sg")):
        return [], None
    from sggit import domains

    domains.install()  # the topologies name resource kinds only the domains declare
    tree = load_tree(contracts)
    return sorted(tree.genes), tree


def seed_files(root: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    base = root / "genome"
    if base.is_dir():
        for path in sorted(base.glob("*/*.py")):
            found.setdefault(path.parent.name, []).append(path)
    return found


def _binding_value(value: object) -> object:
    kind = getattr(value, "kind", None)
    if kind in ("scalar", "word"):
        return value.value  # type: ignore[attr-defined]
    if kind == "list":
        return [_binding_value(v) for v in value.items]  # type: ignore[attr-defined]
    if kind == "template":
        return "".join(p if isinstance(p, str) else p.render() for p in value.parts)  # type: ignore[attr-defined]
    return value


def _declared_phenotypes(root: Path, tree: ContractTree | None) -> list[PhenotypeMap]:
    maps: dict[str, PhenotypeMap] = {}
    pdir = root / "phenotypes"
    if pdir.is_dir():
        for path in sorted(pdir.glob("*.toml")):
            pmap = load_phenotype_file(path)
            maps[pmap.name] = pmap
    if tree is not None:
        for name, decl in sorted(tree.phenotypes.items()):
            if name in maps or not decl.topology:
                continue
            maps[name] = PhenotypeMap(name=name, topology=decl.topology, bindings={b.name: _binding_value(b.value) for b in decl.bindings})  # type: ignore[misc]
    return list(maps.values())


def _follow_declaration(genome: Genome, declared: PhenotypeMap) -> str | None:
    """Give an existing phenotype the topology and bindings its file (or declaration) now says, in one commit.

    People edit `phenotypes/<name>.toml`; the branch holds what runs. Without this an
    edited binding would be checked by `sggit check` and then silently never used.
    Returns what changed, or None when the branch already says the same.
    """
    current = read_phenotype(genome, declared.name)
    changes = {key: getattr(declared, key) for key in ("topology", "bindings") if getattr(current, key) != getattr(declared, key)}
    if not changes:
        return None
    parts = [f"topology {declared.topology}"] if "topology" in changes else []
    before, after, absent = current.bindings, declared.bindings, object()
    parts += [f"bindings.{key}" for key in sorted(before.keys() | after.keys()) if before.get(key, absent) != after.get(key, absent)]
    said = ", ".join(parts)

    def edit(pmap: PhenotypeMap) -> PhenotypeMap:
        return pmap.model_copy(update=changes)

    change_phenotype(genome, declared.name, edit, action="declare", subject=f"{declared.name}: follow its file: {said}")
    return said


def _domain_sources(names: tuple[str, ...]) -> list[tuple[Path, str | None]]:
    """Each named domain's shipped genome, and where its contracts go (the default domain's at the top)."""
    from sggit import domains

    out: list[tuple[Path, str | None]] = []
    for name in names:
        try:
            d = domains.get(name)
        except KeyError as exc:
            raise UsageError(str(exc.args[0]), hint="`sggit doctor` lists the installed domains") from None
        except domains.DomainError as exc:
            raise UsageError(str(exc)) from None
        out.append((d.root.resolve(), None if name == domains.DEFAULT_DOMAIN else name))
    return out


def _own_loci(tree: ContractTree | None, topology: str, loci: dict[str, list[str]]) -> set[str]:
    """The loci a phenotype expresses: those of its topology's domain (all, in a one-domain genome)."""
    if tree is None:
        return set(loci)
    from sggit.domains.membership import contract_domains, domain_of

    node = tree.topologies.get(topology)
    placed = contract_domains(tree)
    if node is None or len(set(placed.values())) < 2:
        return set(loci)
    mine = domain_of(tree, node)
    return {locus for locus in loci if placed.get(locus, mine) == mine}


def init_project(directory: str | Path = ".", source: str | Path | None = None, domain_names: tuple[str, ...] = ()) -> InitReport:
    """Scaffold from `source`, from the named domains' shipped genomes (a genome may hold several), or from the network genome."""
    target = Path(directory).resolve()
    if source is not None and domain_names:
        raise UsageError("choose either --from or --domain")
    src = Path(source).resolve() if source is not None else shipped_root()
    if source is not None and not (src / "contracts").is_dir():
        raise UsageError(f"{src} is not a genome (no contracts/ directory)")
    sources = _domain_sources(domain_names) if domain_names else [(src, None)]
    target.mkdir(parents=True, exist_ok=True)
    report = InitReport(root=str(target))
    try:
        found = pygit2.discover_repository(str(target))
    except (pygit2.GitError, OSError):
        found = None
    if not found:
        pygit2.init_repository(str(target))
        report.created_repo = True
    genome = Genome.open(target)
    if genome.workdir is None:
        raise UsageError(f"{target} is a bare repository; sggit init needs a working tree")
    if source is None and not domain_names and phenotype_names(genome):
        # Initialised already (perhaps from another domain): run again, init copies only what it is asked to.
        sources = [(target, None)]
    root = target
    with genome.locked():
        if any(s != root for s, _ in sources):
            for s, under in sources:
                _copy_missing(s, root, report, under)
        else:
            for sub in SCAFFOLD_DIRS:
                (root / sub).mkdir(exist_ok=True)
        _scaffold_files(root, report)
        loci, tree = contract_loci(root)
        seeds = seed_files(root)
        unknown = sorted(set(seeds) - set(loci)) if tree is not None else []
        if unknown:
            raise SggitError(f"genome/{unknown[0]}/ has seeds but contracts/ defines no gene {unknown[0]}", hint="add its contract or move the seeds")
        batch: list[NewAllele] = []
        for locus, paths in sorted(seeds.items()):
            for path in paths:
                data = path.read_bytes()
                problems = source_problems(data.decode("utf-8", errors="replace"))
                if problems:
                    raise SggitError(f"{path.relative_to(root)}:{problems[0]}", hint="fix the seed before registering it")
                rel = str(path.relative_to(root))
                batch.append(NewAllele(locus, data, Lineage(locus=locus, origin="seed", path=rel)))
        results = register_alleles(genome, batch, message=None) if batch else []
        report.alleles_registered = [r.id for r in results if r.new]
        report.alleles_known = len(results) - len(report.alleles_registered)
        by_locus: dict[str, list[str]] = {}
        for r in results:
            if r.id not in by_locus.setdefault(r.locus, []):
                by_locus[r.locus].append(r.id)
        existing = set(phenotype_names(genome))
        for pmap in _declared_phenotypes(root, tree):
            own = _own_loci(tree, pmap.topology, by_locus)
            if pmap.name not in existing:
                full = pmap
                for locus, ids in sorted(by_locus.items()):
                    if locus in full.loci or locus not in own:
                        continue
                    full = full.model_copy(deep=True)
                    full.loci[locus] = LocusMap()
                    for position, allele in enumerate(ids):
                        full = set_state(full, locus, allele, "dominant" if position == 0 else "recessive") or full
                create_phenotype(genome, full)
                report.phenotypes_created.append(pmap.name)
            else:
                followed = _follow_declaration(genome, pmap)
                if followed:
                    report.phenotypes_followed[pmap.name] = followed
                for locus, ids in sorted(by_locus.items()):
                    if locus not in own:
                        continue
                    for allele in ids:
                        if allele in report.alleles_registered:
                            commit = register_in_phenotype(genome, pmap.name, locus, allele, "recessive")
                            if commit:
                                report.phenotype_changes.append(f"{pmap.name}: {locus} +{allele[:12]}")
    return report
