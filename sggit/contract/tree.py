"""A set of contracts read together, so that references between them resolve."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sggit.contract import nodes as n
from sggit.contract.errors import ContractError, Diagnostic


@dataclass
class ContractTree:
    """Every definition of a genome, indexed by name, plus what it took to read them."""

    documents: list[n.Document] = field(default_factory=list)
    genes: dict[str, n.Gene] = field(default_factory=dict)
    pathways: dict[str, n.Pathway] = field(default_factory=dict)
    topologies: dict[str, n.Topology] = field(default_factory=dict)
    phenotypes: dict[str, n.Phenotype] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)
    origin: dict[int, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # name -> file, for definitions that did not parse (their errors are already reported)
    unparsed: dict[str, str] = field(default_factory=dict)

    def path_of(self, node: n.Node) -> str:
        return self.origin.get(id(node), "<unknown>")

    def diagnostic(self, node_path: str, line: int, column: int, message: str, hint: str | None = None) -> Diagnostic:
        lines = self.sources.get(node_path, [])
        source = lines[line - 1] if 1 <= line <= len(lines) else None
        return Diagnostic(node_path, line, column, message, hint, source)

    def add_text(self, text: str, path: str) -> n.Document:
        from sggit.contract.parser import parse_collect

        doc, problems = parse_collect(text, path)
        self.sources[path] = text.split("\n")
        self.diagnostics.extend(problems)
        self.add_document(doc)
        return doc

    def is_unparsed(self, name: str) -> bool:
        """Whether `name` is one a broken file meant to define, so a reference to it says nothing new."""
        return name in self.unparsed

    def add_document(self, doc: n.Document) -> None:
        self.documents.append(doc)
        for name in doc.unparsed:
            self.unparsed.setdefault(name, doc.path)
        for definition in doc.definitions:
            self.origin[id(definition)] = doc.path
            table: dict[str, n.Node]
            if isinstance(definition, n.Phenotype):
                table = self.phenotypes  # type: ignore[assignment]
                others: list[dict[str, n.Node]] = []
            else:
                table = {"gene": self.genes, "pathway": self.pathways, "topology": self.topologies}[definition.kind]  # type: ignore[assignment]
                others = [t for t in (self.genes, self.pathways, self.topologies) if t is not table]  # type: ignore[misc]
            clash = table.get(definition.name) or next((o[definition.name] for o in others if definition.name in o), None)
            if clash is not None:
                first = f"{self.path_of(clash)}:{clash.line}"
                self.diagnostics.append(
                    self.diagnostic(doc.path, definition.line, definition.column, f"duplicate name {definition.name} (first defined at {first})", "each gene, pathway and topology needs its own name")
                )
                continue
            table[definition.name] = definition

    @property
    def loci(self) -> list[str]:
        return sorted(self.genes)


def sg_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories into their `.sg` files, sorted for stable output."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("*.sg") if q.is_file()))
        else:
            found.append(p)
    return found


def read_tree(paths: Iterable[str | Path]) -> ContractTree:
    """Parse files without semantic checks; unreadable files become diagnostics."""
    from sggit.contract.parser import definition_names, read_source

    tree = ContractTree()
    for path in sg_files(paths):
        try:
            text = read_source(path)
        except ContractError as exc:
            tree.diagnostics.extend(exc.diagnostics)
            try:  # what a file that is not UTF-8 meant to define is not missing
                broken = path.read_bytes().decode("utf-8", "replace")
            except OSError:
                continue
            for name in definition_names(broken):
                tree.unparsed.setdefault(name, str(path))
            continue
        tree.add_text(text, str(path))
    return tree


def load_tree(root: str | Path | Iterable[str | Path], resource_kinds: Mapping[str, Mapping[str, bool]] | None = None) -> ContractTree:
    """Parse and check a whole contract tree; raises ContractError listing every problem.

    `resource_kinds` is the topology resource table (see `checks.check_tree`).
    """
    from sggit.contract.checks import check_tree

    paths = [root] if isinstance(root, (str, Path)) else list(root)
    tree = read_tree(paths)
    problems = tree.diagnostics + check_tree(tree, resource_kinds)
    errors = [d for d in problems if d.severity == "error"]
    if errors:
        raise ContractError(errors)
    return tree
