"""Mutation proposals of one host, as commits on `sggit/mutations/<host>`.

Every allele an engine proposes and sggit registers is also committed here, one
commit per proposal with the failure that prompted it in the message, so a
reviewer can read a host's evolution as a branch (`git log -p
sggit/mutations/<host>`) and fleet sync carries it like any other host-owned ref.

Proposals are kept at `<locus>/<id[:2]>/<id[2:]>.py`, the genome branch's
fanout, so a commit rewrites a folder of at most 256 entries however many
proposals a locus has seen; a branch written before in the flat layout
(`<locus>/<id>.py`) is added to as it is.
"""

from __future__ import annotations

import json

import pygit2

from sggit.genome.lineage import Lineage
from sggit.genome.phenostore import compose_message
from sggit.genome.repo import Genome
from sggit.genome.trees import edit_tree

MUTATIONS_BRANCH = "refs/heads/sggit/mutations/"


def mutations_ref(host: str) -> str:
    return MUTATIONS_BRANCH + host


def proposal_path(locus: str, allele: str) -> str:
    return f"{locus}/{allele[:2]}/{allele[2:]}.py"


def record_proposal(genome: Genome, allele: str, source: str | bytes, lineage: Lineage) -> str | None:
    """Commit the proposal's source at `proposal_path`; None if this host recorded it already (in either layout)."""
    data = source.encode() if isinstance(source, str) else source
    path = proposal_path(lineage.locus, allele)
    recorded = (path, f"{lineage.locus}/{allele}.py")
    failure = lineage.failure
    body_lines = []
    if failure is not None:
        body_lines.append(f"input: {json.dumps(failure.input, sort_keys=True, default=str)}")
        body_lines.append(f"error: {failure.error}")
    subject = f"mutation {lineage.locus}: {allele[:12]} from {lineage.engine or lineage.origin}"
    trailers = {
        "Sggit-Locus": lineage.locus,
        "Sggit-Allele": allele,
        "Sggit-Parent": ", ".join(lineage.parents) or None,
        "Sggit-Engine": lineage.engine,
        "Sggit-Model": lineage.model,
        "Sggit-Action": "propose",
    }
    message = compose_message(subject, trailers, "\n".join(body_lines) or None)

    def build(tip: pygit2.Commit | None) -> tuple[pygit2.Oid, str] | None:
        base = tip.tree if tip is not None else None
        if base is not None:
            for known in recorded:
                try:
                    base[known]
                    return None
                except KeyError:
                    pass
        blob = genome.repo.create_blob(data)
        return edit_tree(genome.repo, base, {path: blob}), message

    oid = genome.commit_to(mutations_ref(genome.host), build, reflog="mutation")
    return None if oid is None else str(oid)
