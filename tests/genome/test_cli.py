from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sggit.genome.fitness import Record
from sggit.genome.phenostore import read_phenotype
from sggit.genome.repo import Genome
from sggit.genome.sync import record
from tests.genome.helpers import SEED_A, SEED_B, git
from tests.helpers import sg


@pytest.fixture
def project(repo_dir: Path, source_genome: Path) -> Path:
    sg("-C", str(repo_dir), "init", "--from", str(source_genome))
    return repo_dir


def _seed_id(repo: Path, text: str) -> str:
    (repo / "tmp_seed.py").write_text(text)
    try:
        return git(repo, "hash-object", "tmp_seed.py").stdout.strip()
    finally:
        (repo / "tmp_seed.py").unlink()


def test_init_scaffolds_registers_seeds_and_creates_phenotype_branches(project: Path) -> None:
    for path in ("contracts/genes/bridge_create.sg", "genome/bridge_create/a_first.py", "phenotypes/dell_r740.toml", ".pre-commit-config.yaml"):
        assert (project / path).is_file(), path
    assert "/.sggit/" in (project / ".gitignore").read_text().splitlines()
    branches = git(project, "branch", "--format=%(refname:short)").stdout.split()
    assert {"phenotype/dell_r740", "phenotype/supermicro_x11", "sggit/genome"} <= set(branches)
    a, b = _seed_id(project, SEED_A), _seed_id(project, SEED_B)
    toml = git(project, "show", "phenotype/dell_r740:phenotypes/dell_r740.toml").stdout
    assert f'[loci.bridge_create]\ndominant = "{a}"\n' in toml and "stack" not in toml
    files = git(project, "ls-tree", "-r", "--name-only", "phenotype/dell_r740", "phenotypes/dell_r740/bridge_create").stdout.split()
    assert files == sorted(f"phenotypes/dell_r740/bridge_create/{x[:2]}/{x[2:]}.toml" for x in (a, b))
    assert git(project, "show", f"phenotype/dell_r740:phenotypes/dell_r740/bridge_create/{b[:2]}/{b[2:]}.toml").stdout == 'state = "recessive"\nrank = 1\n'
    note = json.loads(git(project, "notes", "--ref", "sggit/lineage", "show", a).stdout)
    assert note["origin"] == "seed" and note["path"] == "genome/bridge_create/a_first.py"
    assert git(project, "status", "--porcelain").stdout.count("??") >= 4


def test_init_twice_changes_nothing_and_says_so(project: Path, source_genome: Path) -> None:
    refs = git(project, "for-each-ref").stdout
    result = sg("-C", str(project), "init", "--from", str(source_genome))
    assert "nothing changed" in result.output
    assert git(project, "for-each-ref").stdout == refs


def test_init_without_from_uses_the_shipped_genome(tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    result = sg("init", str(target))
    assert "created git repository" in result.output
    assert (target / "contracts" / "topologies" / "production_server.sg").is_file()
    assert "phenotype/dell_r740" in git(target, "branch", "--format=%(refname:short)").stdout


def test_register_checks_the_source_and_the_locus(project: Path) -> None:
    bad = project / "bad.py"
    bad.write_text("def run(x):\n    return x\n")
    result = sg("-C", str(project), "register", "bridge_create", str(bad), code=2)
    assert "execute" in result.output
    good = project / "good.py"
    good.write_text("def execute(input_json):\n    return input_json\n")
    result = sg("-C", str(project), "register", "no_such_locus", str(good), code=2)
    assert "no locus no_such_locus" in result.output


def test_register_as_dominant_in_one_phenotype(project: Path) -> None:
    good = project / "good.py"
    good.write_text("def execute(input_json):\n    return input_json\n")
    out = json.loads(sg("-C", str(project), "register", "bridge_create", str(good), "--as", "dominant", "--phenotype", "dell_r740", "--format", "json").output)
    assert out["new"] and out["phenotypes"]["dell_r740"]
    trailers = git(project, "log", "-1", "--format=%(trailers:key=Sggit-Action,valueonly,separator=)%(trailers:key=Sggit-Allele,valueonly,separator=)", "phenotype/dell_r740").stdout.strip()
    assert trailers == "register" + out["id"]
    assert json.loads(git(project, "notes", "--ref", "sggit/lineage", "show", out["id"]).stdout)["origin"] == "manual"
    status = json.loads(sg("-C", str(project), "status", "--phenotype", "dell_r740", "--format", "json").output)
    row = next(r for r in status["phenotypes"][0]["loci"] if r["locus"] == "bridge_create")
    assert row["dominant"] == out["id"] and row["fallback_depth"] == 2
    other = json.loads(sg("-C", str(project), "status", "--phenotype", "supermicro_x11", "--format", "json").output)
    assert next(r for r in other["phenotypes"][0]["loci"] if r["locus"] == "bridge_create")["dominant"] != out["id"]


def test_status_show_why_reflect_synced_fitness(project: Path) -> None:
    a = _seed_id(project, SEED_A)
    genome = Genome.open(project)
    for i in range(20):
        record(genome, Record(allele=a, locus="bridge_create", ok=i % 4 != 0, error="bridge exists"))
    assert "waiting in the journal" in sg("-C", str(project), "status").output
    assert "folded 20 record(s)" in sg("-C", str(project), "sync").output
    text = sg("-C", str(project), "status", "--phenotype", "dell_r740").output
    line = next(line for line in text.splitlines() if "bridge_create" in line)
    assert a[:12] in line and "0.750" in line and "20 calls" in line and "bridge exists" in line
    shown = json.loads(sg("-C", str(project), "show", a[:8], "--format", "json").output)
    assert shown["loci"][0]["fitness_by_host"]["testhost"]["total"] == 20 and shown["source"] == SEED_A
    assert "def execute" in sg("-C", str(project), "show", a[:8]).output
    why = sg("-C", str(project), "why", a[:10]).output
    assert "is a seed" in why and "In dell_r740 it is dominant" in why and "fitness 0.750" in why


def test_lineage_of_a_locus_in_text_json_and_dot(project: Path) -> None:
    genome = Genome.open(project)
    a = _seed_id(project, SEED_A)
    from sggit.genome.alleles import register_allele
    from sggit.genome.lineage import Failure, Lineage

    child = register_allele(genome, "bridge_create", SEED_A + "# fixed\n", Lineage(
        locus="bridge_create", origin="mutation", parents=[a], engine="gp", generation=1, failure=Failure(error="File exists")))
    text = sg("-C", str(project), "lineage", "bridge_create").output
    assert f"{a[:12]} seed gen 0" in text and f"`-- {child.id[:12]} mutation gen 1 [gp]" in text
    data = json.loads(sg("-C", str(project), "lineage", child.id[:9], "--format", "json").output)
    assert {n["id"] for n in data["nodes"]} == {a, child.id}
    dot = sg("-C", str(project), "lineage", "bridge_create", "--format", "dot").output
    assert dot.startswith("digraph") and f'"{a[:12]}" -> "{child.id[:12]}"' in dot
    assert "after its parent failed with: File exists" in sg("-C", str(project), "why", child.id).output
    assert "No phenotype expresses it" in sg("-C", str(project), "why", child.id).output


def test_rollback_command_reverts_the_last_phenotype_change(project: Path) -> None:
    good = project / "good.py"
    good.write_text("def execute(input_json):\n    return input_json\n")
    sg("-C", str(project), "register", "bridge_create", str(good), "--as", "dominant", "--phenotype", "dell_r740")
    before = git(project, "rev-parse", "phenotype/dell_r740~1^{tree}").stdout
    result = sg("-C", str(project), "rollback", "--phenotype", "dell_r740")
    assert "reverted" in result.output
    assert git(project, "rev-parse", "phenotype/dell_r740^{tree}").stdout == before
    assert "This reverts commit" in git(project, "log", "-1", "--format=%B", "phenotype/dell_r740").stdout


def test_rollback_reverts_a_head_that_no_longer_parses(project: Path, tmp_path: Path) -> None:
    """A hand edit that broke the map's TOML stops every command; rollback, as `git revert` would, still undoes it."""
    before = git(project, "rev-parse", "phenotype/dell_r740^{tree}").stdout
    worktree = tmp_path / "pheno"
    git(project, "worktree", "add", "-q", str(worktree), "phenotype/dell_r740")
    toml = worktree / "phenotypes" / "dell_r740.toml"
    toml.write_text(toml.read_text() + "garbage [[[\n")
    git(worktree, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qam", "a bad hand edit", "--no-verify")
    broken = sg("-C", str(project), "status", "--phenotype", "dell_r740", code=1).output
    assert "invalid TOML" in broken
    sg("-C", str(project), "rollback", "--phenotype", "dell_r740")
    assert git(project, "rev-parse", "phenotype/dell_r740^{tree}").stdout == before
    assert read_phenotype(Genome.open(project), "dell_r740").locus("bridge_create").dominant is not None
    assert "This reverts commit" in git(project, "log", "-1", "--format=%B", "phenotype/dell_r740").stdout


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["show", "abc"], 2, "not an allele id"),
        (["show", "abcdef0123"], 2, "no registered allele"),
        (["why", "abcdef0123"], 2, "no registered allele"),
        (["rollback", "--phenotype", "nope"], 2, "no phenotype nope\nhint: known: dell_r740, supermicro_x11"),
        (["lineage", "no_such_locus"], 2, "no locus"),
        (["status", "--phenotype", "nope"], 2, "no phenotype nope\nhint: known: dell_r740, supermicro_x11"),
        (["status", "--phenotype", ""], 2, "no phenotype ''\nhint: known: dell_r740, supermicro_x11"),
        (["register", "--seeds", "--phenotype", "dell_r740"], 2, "--seeds takes no --phenotype"),
        (["register", "bridge_create", "--seeds", "--as", "dominant"], 2, "--seeds takes no LOCUS, --as dominant"),
    ],
)
def test_user_mistakes_are_messages_not_tracebacks(project: Path, args: list[str], code: int, message: str) -> None:
    """A phenotype that does not exist is named the same way by every command, with the ones that do."""
    result = sg("-C", str(project), *args, code=code)
    assert message in result.output


def test_outside_a_git_repository_is_a_usage_error(tmp_path: Path) -> None:
    result = sg("-C", str(tmp_path), "status", code=2)
    assert "not a git repository" in result.output


def test_the_installed_command_runs_end_to_end(tmp_path: Path, source_genome: Path) -> None:
    exe = shutil.which("sggit", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the sggit console script is not installed in this environment")
    target = tmp_path / "e2e"
    first = subprocess.run([exe, "init", str(target), "--from", str(source_genome)], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    status = subprocess.run([exe, "-C", str(target), "status", "--format", "json"], capture_output=True, text=True)
    data = json.loads(status.stdout)
    assert [p["phenotype"] for p in data["phenotypes"]] == ["dell_r740", "supermicro_x11"]
    bad = subprocess.run([exe, "-C", str(target), "why", "zz"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "not an allele id" in bad.stderr


def test_init_refuses_seeds_for_loci_without_a_contract_and_broken_seeds(tmp_path: Path, source_genome: Path) -> None:
    (source_genome / "genome" / "no_such_gene").mkdir()
    (source_genome / "genome" / "no_such_gene" / "x.py").write_text(SEED_A)
    result = sg("init", str(tmp_path / "one"), "--from", str(source_genome), code=1)
    assert "no gene no_such_gene" in result.output
    shutil.rmtree(source_genome / "genome" / "no_such_gene")
    (source_genome / "genome" / "vlan_create" / "broken.py").write_text("def execute(:\n")
    result = sg("init", str(tmp_path / "two"), "--from", str(source_genome), code=1)
    assert "broken.py" in result.output and "syntax error" in result.output


def test_init_keeps_the_users_files(repo_dir: Path, source_genome: Path) -> None:
    mine = repo_dir / "phenotypes" / "dell_r740.toml"
    mine.parent.mkdir()
    mine.write_text('name = "dell_r740"\ntopology = "production_server"\n\n[bindings]\nnic = ["em1", "em2"]\n')
    result = sg("-C", str(repo_dir), "init", "--from", str(source_genome))
    assert "kept your phenotypes/dell_r740.toml" in result.output
    assert 'nic = ["em1", "em2"]' in git(repo_dir, "show", "phenotype/dell_r740:phenotypes/dell_r740.toml").stdout


def test_register_many_files_is_one_commit_per_ref(project: Path) -> None:
    files = []
    for i in range(3):
        path = project / f"many{i}.py"
        path.write_text(f"def execute(input_json):\n    return '{{\"n\": {i}}}'\n")
        files.append(str(path))

    def commits(ref: str) -> int:
        return int(git(project, "rev-list", "--count", ref).stdout)

    refs = ("sggit/genome", "refs/notes/sggit/lineage", "phenotype/dell_r740", "phenotype/supermicro_x11")
    before = {ref: commits(ref) for ref in refs}
    out = json.loads(sg("-C", str(project), "register", "bridge_create", *files, "--format", "json").output)
    ids = [a["id"] for a in out["alleles"]]
    assert len(set(ids)) == 3 and all(a["new"] for a in out["alleles"])
    assert {ref: commits(ref) - n for ref, n in before.items()} == dict.fromkeys(refs, 1)
    assert read_phenotype(Genome.open(project), "dell_r740").loci["bridge_create"].stack[-3:] == ids
    changed = git(project, "diff", "--name-only", "phenotype/dell_r740~1", "phenotype/dell_r740").stdout.split()
    assert changed == sorted(f"phenotypes/dell_r740/bridge_create/{x[:2]}/{x[2:]}.toml" for x in ids)
    again = sg("-C", str(project), "register", "bridge_create", *files).output
    assert again.count("already registered") == 3 and "already there, unchanged" in again
