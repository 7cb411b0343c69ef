"""What keeps big genomes cheap: per-locus failure entries, content-named map caches, a packed repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sggit.genome import phenolayout, phenostore
from sggit.genome.alleles import NewAllele, alleles_at, register_allele, register_alleles
from sggit.genome.fitness import Record
from sggit.genome.lineage import Lineage
from sggit.genome.phenotype import PhenotypeMap
from sggit.genome.repo import Genome
from sggit.genome.sync import record, sync
from sggit.genome.views import status
from tests.genome.helpers import git
from tests.helpers import sg_in


def _alleles(genome: Genome, n: int, locus: str = "loc") -> list[str]:
    batch = [NewAllele(locus, f"def execute(input_json):\n    return '{i}'\n".encode(), Lineage(locus=locus, origin="manual")) for i in range(n)]
    ids = [r.id for r in register_alleles(genome, batch)]
    phenostore.create_phenotype(genome, PhenotypeMap(name="p", topology="t"))
    phenostore.register_many_in_phenotype(genome, "p", locus, ids, "recessive")
    phenostore.promote(genome, "p", locus, ids[0])
    return ids


def _row(genome: Genome) -> dict:
    return status(genome, "p").phenotypes[0].loci[0].model_dump()


def test_status_takes_the_latest_failure_at_a_locus_from_one_entry_per_host(genome: Genome) -> None:
    ids = _alleles(genome, 5)
    record(genome, Record(allele=ids[3], locus="loc", ok=False, error="old", time=10.0))
    record(genome, Record(allele=ids[0], locus="loc", ok=True, time=11.0))
    sync(genome)
    record(genome, Record(allele=ids[4], locus="loc", ok=False, error="newest", time=30.0))
    record(genome, Record(allele=ids[2], locus="loc", ok=False, error="between", time=20.0))
    sync(genome)
    row = _row(genome)
    assert (row["dominant"], row["fallback_depth"], row["invocations"], row["last_failure"]) == (ids[0], 4, 1, "newest")
    repo = Path(genome.repo.workdir)
    entry = json.loads(git(repo, "show", "refs/notes/sggit/fitness/testhost:loci/loc").stdout)
    assert entry["allele"] == ids[4] and entry["failure"]["time"] == 30.0
    # Stock git sees only the notes, and keeps the entry when it writes notes itself.
    listed = {line.split()[1] for line in git(repo, "notes", "--ref", "sggit/fitness/testhost", "list").stdout.splitlines()}
    assert listed == {ids[0], ids[2], ids[3], ids[4]}
    git(repo, "notes", "--ref", "sggit/fitness/testhost", "add", "-f", "-m", json.dumps({"total": 2, "successes": 2}), ids[1])
    assert _row(genome)["last_failure"] == "newest"


def test_hosts_whose_notes_have_no_failure_entries_are_read_note_by_note(genome: Genome) -> None:
    ids = _alleles(genome, 3)
    repo = Path(genome.repo.workdir)
    note = {"locus": "loc", "total": 1, "successes": 0, "last_failure": {"time": 50.0, "error": "from an older peer", "host": "old"}}
    git(repo, "notes", "--ref", "sggit/fitness/old", "add", "-m", json.dumps(note), ids[2])
    assert _row(genome)["last_failure"] == "from an older peer"


def test_a_map_changed_with_stock_git_is_seen_at_once(genome: Genome) -> None:
    ids = _alleles(genome, 3)
    assert _row(genome)["dominant"] == ids[0]
    repo = Path(genome.repo.workdir)
    git(repo, "update-ref", "refs/heads/phenotype/p", "refs/heads/phenotype/p~1")
    assert _row(genome)["dominant"] is None  # before the promotion: no dominant, all recessive
    shown = sg_in(repo, "show", ids[0], "--format", "json", code=None)
    assert json.loads(shown.output)["loci"][0]["expressed_in"] == [{"phenotype": "p", "state": "recessive", "position": 0}]


def test_commits_keep_the_repository_packed(genome: Genome) -> None:
    """With gc.auto=100, writing ~3,000 objects passes git's estimate (objects/17) all but surely."""
    genome.repo.config["gc.auto"] = "100"
    for batch in range(5):
        register_alleles(genome, [NewAllele("loc", f"def execute(input_json):\n    return '{batch}-{i}'\n".encode(), Lineage(locus="loc", origin="manual"))
                                  for i in range(300)])
    register_allele(genome, "loc", "def execute(input_json):\n    return 'last'\n", Lineage(locus="loc", origin="manual"))
    counts = dict(line.split(": ") for line in subprocess.run(
        ["git", "-C", genome.repo.path, "count-objects", "-v"], capture_output=True, text=True, check=True).stdout.splitlines())
    assert int(counts["packs"]) >= 1 and int(counts["in-pack"]) > int(counts["count"])
    assert len(alleles_at(genome, "loc")) == 1501


def test_the_cached_map_reads_back_equal_to_the_committed_one(genome: Genome) -> None:
    ids = _alleles(genome, 4)
    phenostore.set_lifecycle(genome, "p", "loc", ids[3], "canary")
    phenostore.fuse(genome, "p", "pw", ids[1])
    cached = phenostore.read_phenotype(genome, "p")
    commit = genome.repo.revparse_single("refs/heads/phenotype/p")
    parsed = phenolayout.read_tree(genome.repo, commit.tree, "p", "p").pmap
    assert cached == parsed
    assert phenostore.read_map_data(genome, "p") == parsed.model_dump(mode="json")
    assert cached.loci["loc"].alleles[ids[3]].state == "canary" and cached.pathways["pw"].fused_allele == ids[1]
