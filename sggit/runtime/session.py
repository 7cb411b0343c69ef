"""Opening an organism from a project directory: genome, contracts, phenotype, kernel, workers.

The CLI and the demo open organisms the same way, so a command is a call here plus
printing. A phenotype's mock host lives in `.git/sggit/mock-<phenotype>.json` between
invocations, so `sggit run` twice on the mock kernel sees what the first run built.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NoReturn

from sggit import domains
from sggit.contract.tree import ContractTree, load_tree
from sggit.engines.base import Engine
from sggit.errors import UsageError
from sggit.genome import phenostore
from sggit.genome.jsonio import loads_input
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from sggit.kernel import kinds
from sggit.kernel.api import Kernel
from sggit.kernel.kinds import KernelTarget
from sggit.project import CONTRACTS_DIR, find_root
from sggit.runtime.hosts import lazy_target, mock_description
from sggit.runtime.organism import Organism

__all__ = ["mock_description"]
domains.install()



def max_input_chars() -> int:
    """The largest `--input` sggit accepts, in characters of JSON.

    A gene's frames back through the sandbox (its kernel calls, its answer) are sized
    for `max_output_bytes` characters of JSON (`max_frame` in sggit.runtime.sandbox.pool):
    a larger input cannot travel back through them whole, so the relay would refuse the
    gene mid-run and the allele be charged for it; it is refused before anything runs.
    """
    from sggit.runtime.sandbox import SandboxConfig

    return SandboxConfig().max_output_bytes


def read_input(text: str | None) -> Any:
    """`--input` is JSON, or `@FILE` holding JSON; errors name the position."""
    if text is None:
        return {}
    limit = max_input_chars()
    source = "--input"
    if text.startswith("@"):
        path = Path(text[1:])
        source = str(path)
        try:
            with path.open("rb") as f:
                raw = f.read(4 * limit + 1)  # UTF-8 spends at most 4 bytes on a character
        except OSError as exc:
            raise UsageError(f"cannot read input file {path}: {exc.strerror}") from None
        if len(raw) > 4 * limit:
            _too_large(source, f"more than {4 * limit} bytes", limit)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{source}: not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
                             hint="save the file as UTF-8 (JSON text is Unicode)") from None
    if len(text) > limit:
        _too_large(source, f"{len(text)} characters", limit)
    return loads_input(text, source)


def _too_large(source: str, size: str, limit: int) -> NoReturn:
    raise UsageError(f"{source}: input of {size} is larger than the {limit} characters of JSON a gene's sandbox carries",
                     hint="pass a gene what it acts on, not a data set: a path or a name it can look up")


def project_root(start: Path | None = None) -> Path:
    root = find_root(start or Path.cwd())
    if root is None:
        raise UsageError("not in a genome project (no contracts/ here or above)", hint="run `sggit init` first")
    return root


def choose_phenotype(genome: Genome, name: str | None) -> str:
    names = phenostore.phenotype_names(genome)
    if name is not None:
        if name not in names:
            raise phenostore.unknown_phenotype(genome, name, names)
        return name
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError("this genome has no phenotype", hint="run `sggit init` first")
    raise UsageError("several phenotypes: choose one with --phenotype", hint=f"known: {', '.join(names)}")


def mock_state_path(genome: Genome, phenotype: str) -> Path:
    return genome.state_dir / f"mock-{phenotype}.json"


def kernel_target(genome: Genome, phenotype: str, netns: str | None = None) -> KernelTarget:
    """What a kernel is opened for: this phenotype's host, its bindings, the genome's state directory."""
    return lazy_target(genome, phenotype, netns)


@contextmanager
def run_kernel(kind: str, genome: Genome, phenotype: str, netns: str | None = None) -> Iterator[Kernel]:
    """The kernel of a run, opened by its kind (a phenotype's mock host persists in the state directory)."""
    with kinds.get(kind).open(kernel_target(genome, phenotype, netns)) as kernel:
        yield kernel


@contextmanager
def open_organism(
    *,
    root: Path | None = None,
    phenotype: str | None = None,
    kernel: str | Kernel | None = None,
    netns: str | None = None,
    engine: Engine | None = None,
    wait_verify: bool = True,
    timeout: float | None = None,
    progress: bool | None = False,
    target: str | None = None,
) -> Iterator[Organism]:
    """An organism on its kernel and sandbox; `progress` prints verify waits to stderr (None: on a terminal).

    `timeout` (seconds one allele may run) defaults to what the kernel's clock needs (`KernelKind.gene_timeout`).

    `target`, when given, is checked to be of the kernel kind's domain before the kernel opens;
    with no `kernel`, the first kind of the phenotype's domain (its topology's) is used."""
    from sggit.runtime.deadline import stderr_progress
    from sggit.runtime.sandbox import SandboxConfig, WorkerPool

    base = project_root(root)
    with ExitStack() as stack:
        genome = stack.enter_context(Genome.open(base))
        tree: ContractTree = load_tree(base / CONTRACTS_DIR)
        name = choose_phenotype(genome, phenotype)
        genome.ensure_writable()
        if kernel is None:
            from sggit.domains.membership import default_kind

            kernel = default_kind(tree, phenostore.read_summary(genome, name).topology)
        if target is not None and isinstance(kernel, str):
            from sggit.domains.membership import check_kernel_for

            check_kernel_for(tree, target, kernel)
        k = stack.enter_context(run_kernel(kernel, genome, name, netns)) if isinstance(kernel, str) else kernel
        pool = stack.enter_context(WorkerPool(SandboxConfig()))
        organism = stack.enter_context(Organism(genome, tree, name, k, pool, engine=engine, wait_verify=wait_verify, timeout=timeout))
        organism.progress = stderr_progress(progress)
        yield organism


def conformance_table(*, root: Path | None = None, locus: str | None = None, phenotype: str | None = None) -> list[Any]:
    """Every allele of a locus (or of every locus with examples) against the contract's examples."""
    from sggit.domains.membership import example_kernels
    from sggit.genome.alleles import allele_source, alleles_at
    from sggit.runtime.conformance import conformance
    from sggit.runtime.sandbox import SandboxConfig, WorkerPool

    base = project_root(root)
    genome = Genome.open(base)
    tree = load_tree(base / CONTRACTS_DIR)
    if locus is not None and locus not in tree.genes:
        raise UsageError(f"unknown locus {locus}", hint=f"known: {', '.join(sorted(tree.genes))}")
    names = phenostore.phenotype_names(genome)
    if phenotype or len(names) == 1:
        fresh = kinds.get("mock").fresh(kernel_target(genome, choose_phenotype(genome, phenotype)))
    else:
        fresh = kinds.get("mock").fresh(KernelTarget(phenotype="", state_dir=genome.state_dir))
    genes = [tree.genes[locus]] if locus else [g for g in tree.genes.values() if g.examples]
    rows = []
    with WorkerPool(SandboxConfig()) as pool:
        for gene in genes:
            alleles = {a: allele_source(genome, a).decode("utf-8") for a in alleles_at(genome, gene.name)}
            rows.extend(conformance(gene, alleles, pool, example_kernels(tree, gene, genome.state_dir) or fresh))
    return rows


def configured_engine(genome: Genome, pmap: PhenotypeMap, chosen: str | None, default: str = "none") -> str:
    """The engine name in force: the command line, then the phenotype's `[settings] engine`,
    then the repository's `git config sggit.engine`, then `default`."""
    if chosen:
        return chosen
    setting = pmap.settings.get("engine")
    if setting is not None:
        from sggit.runtime.settings import problem

        said = problem("engine", setting)
        if said is not None:
            raise UsageError(f"phenotype {pmap.name}: {said}", hint="fix it in the phenotype's file and run `sggit init` again")
        return str(setting)
    try:
        configured = genome.repo.config["sggit.engine"]
    except KeyError:
        configured = None
    return configured or default


def engine_for(
    organism: Organism,
    name: str | None,
    *,
    default: str = "none",
    fixture_dir: str | Path | None = None,
    seed: int | None = None,
    model: str | None = None,
    max_candidates: int | None = None,
) -> Engine:
    """The engine `name` (or the configured one) wired to this organism's sandbox and state directory."""
    from sggit.engines.registry import make_engine
    from sggit.runtime.evaluate import SandboxEvaluator
    from sggit.runtime.lifecycle import fresh_kernels, shadow_kernels

    chosen = configured_engine(organism.genome, organism.phenotype(), name, default)
    evaluator = SandboxEvaluator(organism.pool, shadow_kernels(organism), timeout=min(organism.timeout, 2.0), fresh_factory=fresh_kernels(organism))
    engine = make_engine(chosen, state_dir=organism.genome.state_dir / "engines", evaluator=evaluator, fixture_dir=fixture_dir, seed=seed, model=model)
    inner = getattr(engine, "inner", engine)
    if max_candidates is not None and hasattr(inner, "max_candidates"):
        inner.max_candidates = max_candidates
    return engine
