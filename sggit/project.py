"""A genome project on disk (contracts/, genome/, phenotypes/) and checking it whole.

`sggit check`, the pre-commit hooks and CI all call `check_paths`, so a problem
reads the same wherever it is caught.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sggit import domains
from sggit.contract.checks import binding_problems, check_tree
from sggit.contract.errors import ContractError, Diagnostic
from sggit.contract.fmt import format_document
from sggit.contract.tree import ContractTree, read_tree, sg_files
from sggit.errors import SggitError
from sggit.genes import source_problems
from sggit.genome.phenotype import PhenotypeMap

domains.install()

CONTRACTS_DIR = "contracts"
GENOME_DIR = "genome"
PHENOTYPES_DIR = "phenotypes"


def find_root(start: str | Path) -> Path | None:
    """The nearest directory at or above `start` that holds a contracts/ tree."""
    here = Path(start).resolve()
    if here.is_file():
        here = here.parent
    for candidate in [here, *here.parents]:
        if candidate.name == CONTRACTS_DIR and candidate.is_dir():
            return candidate.parent
        if (candidate / CONTRACTS_DIR).is_dir():
            return candidate
    return None


@dataclass
class CheckReport:
    files: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    domains: dict[str, str] = field(default_factory=dict)
    """Each gene, pathway and topology checked -> the domain it belongs to."""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "files": self.files,
            "errors": len(self.errors),
            "diagnostics": [d.as_json() for d in self.diagnostics],
            "domains": self.domains,
        }


def _classify(paths: list[Path]) -> tuple[list[Path], list[Path], list[Path]]:
    sg: list[Path] = []
    toml: list[Path] = []
    py: list[Path] = []
    for p in paths:
        if p.is_dir():
            sg.extend(sorted(p.rglob("*.sg")))
            toml.extend(sorted({h for q in p.rglob("*.toml") if (h := _phenotype_head(q, p.name == PHENOTYPES_DIR)) is not None}))
            py.extend(sorted(q for q in p.rglob("*.py") if _locus_of(q) is not None))
        elif p.suffix == ".sg":
            sg.append(p)
        elif p.suffix == ".toml":
            head = _phenotype_head(p, True) or p
            if head not in toml:
                toml.append(head)
        elif p.suffix == ".py":
            py.append(p)
        else:
            sg.append(p)
    return sg, toml, py


def _phenotype_head(path: Path, inside: bool) -> Path | None:
    """The map a file belongs to: `phenotypes/<name>.toml`, or the head of `phenotypes/<name>/.../<id>.toml`."""
    parts = path.parts
    if PHENOTYPES_DIR in parts[:-1]:
        at = len(parts) - 1 - parts[::-1].index(PHENOTYPES_DIR)
        return Path(*parts[:at + 2]).with_suffix(".toml") if at + 2 < len(parts) else path
    return path if inside else None


def _locus_of(path: Path) -> str | None:
    """`genome/<locus>/<file>.py` names its locus by its directory."""
    parts = path.parts
    if len(parts) >= 3 and parts[-3] == GENOME_DIR:
        return parts[-2]
    return None


def check_paths(paths: Sequence[str | Path], *, syntax_only: bool = False) -> CheckReport:
    """Check contracts, phenotype files and seed alleles; contracts resolve against their project."""
    given = [Path(p) for p in paths]
    sg, toml, py = _classify(given)
    report = CheckReport(files=[str(p) for p in sg + toml + py])
    context: list[Path] = []
    if not syntax_only:
        roots = {find_root(p) for p in given}
        for root in sorted((r for r in roots if r is not None), key=str):
            context.extend(q for q in sorted((root / CONTRACTS_DIR).rglob("*.sg")))
    resolved = {p.resolve() for p in sg}
    extra = [p for p in context if p.resolve() not in resolved]
    tree = read_tree(sg + extra)
    context_paths = {str(p) for p in extra}
    # Syntax errors of other contracts explain references that do not resolve, so they show.
    report.diagnostics.extend(tree.diagnostics)
    broken: set[str] = set()
    if not syntax_only:
        from sggit.domains.membership import contract_domains, domain_problems

        contract_problems = check_tree(tree) + domain_problems(tree)
        report.diagnostics.extend(d for d in contract_problems if d.path not in context_paths)
        report.domains = contract_domains(tree)
        broken = {d.path for d in contract_problems if d.severity == "error"}
    for path in toml:
        report.diagnostics.extend(check_phenotype_file(path, None if syntax_only else tree, broken))
    for path in py:
        report.diagnostics.extend(check_allele_file(path, None if syntax_only else tree))
    return report


def _key_position(lines: list[str], key: str) -> tuple[int, int]:
    for i, line in enumerate(lines, 1):
        stripped = line.lstrip()
        if stripped.startswith(key) and stripped[len(key):].lstrip().startswith("="):
            return i, len(line) - len(stripped) + 1
        if stripped.startswith(f"[{key}]"):
            return i, len(line) - len(stripped) + 1
    return 1, 1


def _setting_position(lines: list[str], table: str, key: str | None) -> tuple[int, int]:
    """Where `key` is written under `[table]` (or the table's header): not anywhere a key of that name is."""
    header = next((i for i, line in enumerate(lines) if line.strip().replace(" ", "") == f"[{table}]"), None)
    if header is None:
        return 1, 1
    for i in range(header + 1, len(lines) if key else header + 1):
        stripped = lines[i].lstrip()
        if stripped.startswith("["):
            break
        if key and stripped.startswith(key) and stripped[len(key):].lstrip().startswith("="):
            return i + 1, len(lines[i]) - len(stripped) + 1
    return header + 1, 1


def check_phenotype_file(path: Path, tree: ContractTree | None, broken: frozenset[str] | set[str] = frozenset()) -> list[Diagnostic]:
    """Schema of a phenotype file, its topology, and its bindings against the topology's takes;
    then what planning its topology would refuse, unless the topology's file is among `broken`
    (the files whose contracts have errors of their own, reported where they are written)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Diagnostic(str(path), 1, 1, f"cannot read: {exc}")]
    lines = text.splitlines()

    def diag(key: str, message: str, hint: str | None = None) -> Diagnostic:
        line, col = _key_position(lines, key)
        return Diagnostic(str(path), line, col, message, hint, lines[line - 1] if lines else None)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        import re

        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        if m:
            line, col = int(m.group(1)), int(m.group(2))
        else:
            line, col = max(len(lines), 1), len(lines[-1]) + 1 if lines else 1
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        return [Diagnostic(str(path), line, col, f"invalid TOML: {message}", None, lines[line - 1] if 0 < line <= len(lines) else None)]
    out: list[Diagnostic] = []
    if path.with_suffix("").is_dir():  # kept one file per allele: check the map they make together
        from sggit.genome.phenolayout import read_files

        try:
            data = data | {"loci": read_files(path).pmap.model_dump()["loci"]}
        except SggitError as exc:
            return [Diagnostic(str(path), 1, 1, str(exc).removeprefix(f"{path}: "), exc.hint)]
    try:
        PhenotypeMap.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            where = ".".join(loc) if loc else "phenotype"
            message = err["msg"].removeprefix("Value error, ")
            out.append(diag(loc[-1] if loc else "name", f"{where}: {message}"))
        return out
    from sggit.runtime import settings as known_settings

    raw_settings = data.get("settings", {})
    for table, key, said in known_settings.problems(raw_settings if isinstance(raw_settings, dict) else {}, None if tree is None else set(tree.genes)):
        line, col = _setting_position(lines, table, key)
        out.append(Diagnostic(str(path), line, col, said, None, lines[line - 1] if lines else None))
    name = data["name"]
    if name != path.stem:
        out.append(diag("name", f"phenotype name {name} does not match its file name {path.stem}", f"rename the file to {name}.toml"))
    topology = data["topology"]
    bindings = data.get("bindings", {})
    if not isinstance(bindings, dict):
        out.append(diag("bindings", "`bindings` must be a table"))
        return out
    if tree is None:
        return out
    topo = tree.topologies.get(topology)
    if topo is None and tree.is_unparsed(topology):
        return out
    if topo is None:
        import difflib

        close = difflib.get_close_matches(topology, list(tree.topologies), n=1)
        out.append(diag("topology", f"unknown topology {topology}", f"did you mean {close[0]}?" if close else None))
        return out
    for problem in binding_problems(bindings, topo):
        key = problem.split(":", 1)[0].split("[", 1)[0].split(".", 1)[0]
        out.append(diag(key if key in bindings else "bindings", f"bindings.{problem}"))
    if not out:
        out.extend(_resource_problems(tree, topology, bindings, path, broken))
    return out


def _resource_problems(tree: ContractTree, topology: str, bindings: dict[str, Any], phenotype: Path,
                       broken: frozenset[str] | set[str]) -> list[Diagnostic]:
    """What `sggit plan` would refuse in the topology's resources with these bindings, at the resource.

    Nothing while the topology's file has errors of its own (`broken`: the files the
    contract checks found errors in, such as an unknown kind or a reference to
    nothing): those checks say so where it is written, once.
    """
    from sggit.errors import UsageError
    from sggit.runtime.topology import ResourceValueError, plan_invocations

    if tree.path_of(tree.topologies[topology]) in broken:
        return []
    try:
        plan_invocations(tree, topology, bindings)
    except ResourceValueError as exc:
        return [Diagnostic(r.path, r.line, r.column, f"{r.said} (with the bindings of {phenotype.name})", r.hint) for r in exc.refused]
    except UsageError:
        return []  # a kind its domain gives no planner: `sggit plan` says so; the contract is not wrong
    return []


def check_allele_file(path: Path, tree: ContractTree | None) -> list[Diagnostic]:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Diagnostic(str(path), 1, 1, f"cannot read: {exc}")]
    lines = source.splitlines()
    out = [
        Diagnostic(str(path), p.line, p.column, p.message, None, lines[p.line - 1] if 0 < p.line <= len(lines) else None)
        for p in source_problems(source)
    ]
    locus = _locus_of(path)
    if tree is not None and locus is not None and locus not in tree.genes and not tree.is_unparsed(locus):
        import difflib

        close = difflib.get_close_matches(locus, list(tree.genes), n=1)
        out.append(Diagnostic(str(path), 1, 1, f"genome/{locus}/ names no locus of this genome", f"did you mean {close[0]}?" if close else "loci are the genes under contracts/"))
    return out


@dataclass
class Formatted:
    """One `.sg` file in canonical layout: its text before and after, or why it could not be read."""

    path: Path
    original: str = ""
    formatted: str = ""
    error: ContractError | None = None

    @property
    def changed(self) -> bool:
        return self.error is None and self.formatted != self.original


def format_paths(paths: list[Path]) -> list[Formatted]:
    """Every `.sg` file under `paths` rendered in the canonical layout; nothing is written here."""
    from sggit.contract.parser import parse_text

    out: list[Formatted] = []
    for path in sg_files(paths):
        item = Formatted(path)
        try:
            item.original = path.read_text(encoding="utf-8")
            item.formatted = format_document(parse_text(item.original, str(path)))
        except ContractError as exc:
            item.error = exc
        except (OSError, UnicodeDecodeError) as exc:
            item.error = ContractError([Diagnostic(str(path), 1, 1, f"cannot read: {exc}")])
        out.append(item)
    return out
