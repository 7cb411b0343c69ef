"""A phenotype's simulated host, and what a kernel is opened for.

Replays, canaries on a copy, examples and `sggit run --kernel mock` all start from
the host the phenotype's bindings describe (its domain decides what that is), so a
gene meets the phenotype's hardware wherever it is judged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sggit.genome import phenostore
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from sggit.kernel.kinds import KernelTarget


class _Bindings(Mapping[str, Any]):
    """A phenotype's bindings, read when first needed: opening a mock host that already exists needs none."""

    def __init__(self, genome: Genome, phenotype: str) -> None:
        self._genome, self._phenotype = genome, phenotype
        self._data: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            self._data = dict(phenostore.read_phenotype(self._genome, self._phenotype).bindings)
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def lazy_target(genome: Genome, phenotype: str, netns: str | None = None) -> KernelTarget:
    """The target of a phenotype's kernel, reading the phenotype only if the kind needs its bindings."""
    return KernelTarget(phenotype=phenotype, state_dir=genome.state_dir, bindings=_Bindings(genome, phenotype), netns=netns)


def target_of(genome: Genome, pmap: PhenotypeMap, netns: str | None = None) -> KernelTarget:
    """This phenotype's host, its bindings and the genome's state directory, from a map already read."""
    return KernelTarget(phenotype=pmap.name, state_dir=genome.state_dir, bindings=dict(pmap.bindings), netns=netns)


def description_of(pmap: PhenotypeMap) -> Any:
    """The simulated host the map's bindings describe."""
    from pathlib import Path

    return KernelTarget(phenotype=pmap.name, state_dir=Path("."), bindings=dict(pmap.bindings)).host()


def mock_description(genome: Genome, phenotype: str) -> Any:
    return description_of(phenostore.read_phenotype(genome, phenotype))
