"""A phenotype's simulated host: the NICs its bindings name, as the mock kernel boots them.

Replays, canaries on a copy, examples and `sggit run --kernel mock` all start from
this description, so a gene meets the phenotype's hardware wherever it is judged.
"""

from __future__ import annotations

from sggit.genome import phenostore
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from sggit.kernel.mock import MockDescription, NicSpec, default_description


def description_of(pmap: PhenotypeMap) -> MockDescription:
    """A simulated host with the map's NICs (every name its bindings list), in order."""
    names: list[str] = []
    for value in pmap.bindings.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item not in names:
                names.append(item)
    if not names:
        return default_description()
    nics = [NicSpec(name=name, mac=f"aa:bb:cc:dd:00:{i + 1:02x}") for i, name in enumerate(names)]
    # The host's address is a DHCP lease on its first NIC's MAC, as on a freshly installed server.
    return MockDescription(nics=nics, leases={nics[0].mac: "192.0.2.10/24"})


def mock_description(genome: Genome, phenotype: str) -> MockDescription:
    return description_of(phenostore.read_phenotype(genome, phenotype))
