"""`sggit corpus export`: every evolved allele as one JSONL training record.

A record pairs what an engine was given (contract, parent source, failure) with
what it wrote and how that fared (lifecycle state per phenotype, live fitness),
so the genome's own history becomes data for training or judging engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sggit.contract.tree import ContractTree
from sggit.errors import SggitError
from sggit.fsutil import atomic_write_text
from sggit.genome import phenostore
from sggit.genome.alleles import allele_source, loci_of
from sggit.genome.fitness import Counters, fitness
from sggit.genome.lineage import all_lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import live_counters
from sggit.runtime.lifecycle import EVOLVED_ORIGINS


class CorpusRecord(BaseModel):
    allele: str
    locus: str
    contract: str | None
    parent: str | None
    parent_source: str | None
    failure: dict[str, Any] | None
    generated_source: str
    engine: str | None
    model: str | None
    prompt_hash: str | None
    generation: int
    outcome: dict[str, str]
    fitness: float
    counters: dict[str, Any]


def contract_text(tree: ContractTree, locus: str) -> str | None:
    gene = tree.genes.get(locus)
    if gene is None:
        return None
    lines = tree.sources.get(tree.path_of(gene))
    return "\n".join(lines) if lines else None


def _text(genome: Genome, allele: str) -> str | None:
    """A parent may live only in another clone's history; the record then says so with None."""
    try:
        return allele_source(genome, allele).decode("utf-8", "replace")
    except SggitError:
        return None


def records(genome: Genome, tree: ContractTree) -> Iterator[CorpusRecord]:
    """Evolved alleles that are still registered, oldest first."""
    counters = live_counters(genome)
    maps = {name: phenostore.read_phenotype(genome, name) for name in phenostore.phenotype_names(genome)}
    pairs = [(allele, lin) for allele, by_locus in all_lineage(genome).items() for lin in by_locus.values()]
    for allele, lineage in sorted(pairs, key=lambda kv: (kv[1].time, kv[0], kv[1].locus)):
        if lineage.origin not in EVOLVED_ORIGINS or lineage.locus not in loci_of(genome, allele):
            continue
        source = _text(genome, allele)
        if source is None:
            continue
        parent = lineage.parents[0] if lineage.parents else None
        c = counters.get(lineage.locus, {}).get(allele, Counters())
        outcome: dict[str, str] = {name: m.locus(lineage.locus).alleles[allele].state for name, m in maps.items() if allele in m.locus(lineage.locus).alleles}
        yield CorpusRecord(
            allele=allele, locus=lineage.locus, contract=contract_text(tree, lineage.locus), parent=parent,
            parent_source=_text(genome, parent) if parent else None,
            failure=lineage.failure.model_dump(mode="json") if lineage.failure else None,
            generated_source=source, engine=lineage.engine, model=lineage.model,
            prompt_hash=getattr(lineage, "prompt_hash", None), generation=lineage.generation,
            outcome=outcome, fitness=fitness(c), counters=c.model_dump(mode="json", exclude_none=True),
        )


def export(genome: Genome, tree: ContractTree, out: Path | None) -> tuple[int, str]:
    """Write the corpus to `out` atomically (or return it as text when `out` is None)."""
    lines = [r.model_dump_json() + "\n" for r in records(genome, tree)]
    text = "".join(lines)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, text)
    return len(lines), text
