"""A crowd of hosts, each with its own new allele at one locus, about to push to one bare remote.

The push-storm test and its benchmark build the same crowd, so both take it from here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pygit2

from sggit.genome import phenostore
from sggit.genome.alleles import register_allele
from sggit.genome.fitness import Record
from sggit.genome.fleet import SyncReport, pull, push
from sggit.genome.lineage import Lineage
from sggit.genome.mutations import record_proposal
from sggit.genome.phenotype import PhenotypeMap, set_state
from sggit.genome.repo import Genome
from sggit.genome.sync import record

LOCUS = "bridge_create"


def host_allele(i: int) -> bytes:
    return f"def execute(input_json):\n    return '{{\"host\": {i}}}'\n".encode()


@dataclass
class Crowd:
    bare: Path
    seed: str
    hosts: list[Genome]
    alleles: dict[str, str]

    def free(self) -> None:
        """pygit2 repositories are cyclic: unfreed, the hosts' packs stay open until a gc pass."""
        for genome in self.hosts:
            genome.repo.free()


def build(root: Path, count: int) -> Crowd:
    """A seeded remote, then `count` clones that each register, express, propose and score an allele of their own."""
    bare = root / "fleet.git"
    pygit2.init_repository(str(bare), bare=True)
    origin = Genome.open(pygit2.init_repository(str(root / "origin")).path, host="seedhost")
    seed = register_allele(origin, LOCUS, host_allele(-1), Lineage(locus=LOCUS, origin="seed", host="seedhost"))
    pmap = set_state(PhenotypeMap(name="fleet", topology="t"), LOCUS, seed.id, "dominant")
    assert pmap is not None
    phenostore.create_phenotype(origin, pmap)
    assert push(origin, str(bare)).ok
    origin.repo.free()
    hosts: list[Genome] = []
    alleles: dict[str, str] = {}
    for i in range(count):
        name = f"host{i:02d}"
        genome = Genome.open(pygit2.init_repository(str(root / name)).path, host=name)
        pull(genome, str(bare))
        lineage = Lineage(locus=LOCUS, origin="mutation", parents=[seed.id], engine="gp", host=name)
        allele = register_allele(genome, LOCUS, host_allele(i), lineage).id
        phenostore.register_in_phenotype(genome, "fleet", LOCUS, allele, "recessive")
        record_proposal(genome, allele, host_allele(i), lineage)
        record(genome, Record(allele=allele, locus=LOCUS, ok=True))
        hosts.append(genome)
        alleles[name] = allele
    return Crowd(bare, seed.id, hosts, alleles)


def push_at_once(crowd: Crowd, timeout: float = 900) -> dict[str, SyncReport | BaseException]:
    """Every host pushes at the same moment, each in a thread of its own; returns what each push gave."""
    start = threading.Barrier(len(crowd.hosts))
    reports: dict[str, SyncReport | BaseException] = {}

    def run(genome: Genome) -> None:
        start.wait()
        try:
            reports[genome.host] = push(genome, str(crowd.bare))
        except Exception as exc:  # noqa: BLE001 - the caller's assertion names it
            reports[genome.host] = exc

    threads = [threading.Thread(target=run, args=(g,)) for g in crowd.hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return reports
