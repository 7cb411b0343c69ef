"""Which domain each contract belongs to, and the rule that keeps a pathway inside one.

A contract's domain is the directory it sits in under `contracts/` when that
directory names an installed domain (`contracts/data/genes/ingest_csv.sg` is in
`data`, as `sggit init --domain data` lays it out), else the default domain
(network). A `domain` the contract declares itself wins over its place.

A pathway composes genes of its own domain. A step that calls another pathway
(`-> pathway`) says otherwise: the called pathway may be of any domain, and is
itself held to its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sggit import domains
from sggit.contract import nodes as n
from sggit.contract.errors import Diagnostic
from sggit.contract.tree import ContractTree

CONTRACTS_DIR = "contracts"


def domain_of_path(path: str | Path, names: Iterable[str] | None = None) -> str:
    known = set(domains.factories() if names is None else names)
    parts = Path(path).parts
    if CONTRACTS_DIR in parts:
        parts = parts[len(parts) - parts[::-1].index(CONTRACTS_DIR):]
    if len(parts) > 1 and parts[0] in known:
        return parts[0]
    return domains.DEFAULT_DOMAIN


def domain_of(tree: ContractTree, node: n.Node) -> str:
    declared = getattr(node, "domain", None)
    if isinstance(declared, str) and declared:
        return declared
    return domain_of_path(tree.path_of(node))


def contract_domains(tree: ContractTree) -> dict[str, str]:
    """Every gene, pathway and topology by name -> its domain."""
    found: dict[str, str] = {}
    for table in (tree.genes, tree.pathways, tree.topologies):
        for name, node in table.items():
            found[name] = domain_of(tree, node)
    return found


def _calls(step: n.Step) -> Iterator[n.Call]:
    body = step.body
    if isinstance(body, n.Call):
        yield body
    elif isinstance(body, n.ForStep):
        yield from body.body
    else:
        for branch in body.branches:
            yield branch.call


def domain_problems(tree: ContractTree) -> list[Diagnostic]:
    """A declared domain that is not installed, and a pathway step calling a gene of another
    domain, are errors located at the definition and at the step."""
    out: list[Diagnostic] = []
    known = set(domains.factories())
    for table in (tree.genes, tree.pathways, tree.topologies):
        for node in table.values():
            declared = getattr(node, "domain", None)
            if isinstance(declared, str) and declared and declared not in known:
                out.append(tree.diagnostic(
                    tree.path_of(node), node.line, node.column,
                    f"{node.name} is for domain {declared}, which is not installed",
                    f"installed: {', '.join(sorted(known))}",
                ))
    for pathway in tree.pathways.values():
        own = domain_of(tree, pathway)
        path = tree.path_of(pathway)
        for step in pathway.steps:
            for call in _calls(step):
                gene = None if call.pathway else tree.genes.get(call.target)
                if gene is None:
                    continue
                theirs = domain_of(tree, gene)
                if theirs != own:
                    out.append(tree.diagnostic(
                        path, call.line, call.column,
                        f"pathway {pathway.name} (domain {own}) composes {gene.name} of domain {theirs}",
                        f"call a pathway of domain {theirs} instead (`-> PATHWAY`); a pathway step may cross domains, a gene step may not",
                    ))
    return out


def example_kernels(tree: ContractTree, gene: n.Gene, state_dir: Path) -> Callable[[], Any] | None:
    """Fresh kernels for checking a gene of another domain than the default: its domain's
    first kernel kind, as it boots. None for the default domain, whose callers know its host."""
    from sggit.kernel import kinds
    from sggit.kernel.kinds import KernelTarget

    domain = domain_of(tree, gene)
    if domain == domains.DEFAULT_DOMAIN:
        return None
    kind = kinds.get(domains.get(domain).kernel_kinds[0])
    return kind.fresh(KernelTarget(phenotype="", state_dir=state_dir, domain=domain))



def check_kernel_for(tree: ContractTree, target: str, kind_name: str) -> None:
    """Refuse to run a locus, pathway or topology on a kernel of another domain, before any allele is
    tried: its genes would fail for a reason that is not theirs, and be scored for it (and a plan
    of it could only say that kernel offers none of its resources)."""
    from sggit.errors import UsageError
    from sggit.kernel import kinds

    node = tree.genes.get(target) or tree.pathways.get(target) or tree.topologies.get(target)
    if node is None:
        return
    kind = kinds.get(kind_name)
    domain = domain_of(tree, node)
    if kind.domain != domain:
        offered = ", ".join(domains.get(domain).kernel_kinds)
        raise UsageError(f"{target} belongs to domain {domain}; the {kind.name} kernel is of domain {kind.domain}", hint=f"choose --kernel {offered}")


def default_kind(tree: ContractTree, topology: str) -> str:
    """The kernel kind a phenotype runs on when none is chosen: the first of its topology's domain."""
    node = tree.topologies.get(topology)
    domain = domain_of(tree, node) if node is not None else domains.DEFAULT_DOMAIN
    try:
        return domains.get(domain).kernel_kinds[0]
    except (KeyError, IndexError):
        return "mock"
