"""A repeated `sggit status` is printed from the last full one's output, and only while that output is current.

Each change below is one status depends on; after it, the kept output must be
refused (`kept_output` is None) before the full command runs again, and the
full command's answer is then what a repeat prints. A description of the
inputs that missed the change would fail the first assertion. Commands run
with `SGGIT_STATUS_REFRESH=0` here, so none renders status anew as it ends
(`test_status_refresh.py` tests that) and each change is left for the
description to catch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sggit.cli import fast_status
from sggit.genome import phenostore
from sggit.genome.alleles import alleles_at, register_allele
from sggit.genome.fitness import Record
from sggit.genome.lineage import Lineage
from sggit.genome.repo import Genome
from sggit.genome.sync import journal_path, record, sync
from tests.helpers import sg_in, sggit
from tests.workflow.helpers import git, identity

PHENOTYPE = "dell_r740"
BRIDGE = '{"bridge_name": "br0", "interfaces": []}'


def sg(project: Path, *args: str, code: int = 0, host: str = "testhost") -> str:
    return sg_in(project, *args, code=code, env={"SGGIT_HOST": host, "SGGIT_STATUS_REFRESH": "0"}).stdout


def fresh(project: Path, *args: str, host: str = "testhost") -> str:
    """The kept output is refused, the full status runs, and a repeat prints exactly its output."""
    parsed = fast_status.options(list(args))
    assert parsed is not None
    os.environ["SGGIT_HOST"] = host
    assert fast_status.kept_output(*parsed, start=str(project)) is None, "a stale status would be printed"
    full = sg(project, "status", *args, host=host)
    os.environ["SGGIT_HOST"] = host
    assert fast_status.kept_output(*parsed, start=str(project)) == full
    return full


def unrefreshed() -> dict[str, str]:
    """This process's environment, with status's background refresh off so it changes nothing behind a test."""
    return {**os.environ, "SGGIT_STATUS_REFRESH": "0"}


def test_a_repeated_status_prints_the_full_ones_output_without_importing_pygit2_pydantic_or_click(project: Path) -> None:
    probe = ("import sys; sys.argv = ['sggit', *sys.argv[1:]]\nfrom sggit.cli import main\ntry:\n    main()\nexcept SystemExit as e:\n"
             "    assert not e.code, e.code\nprint(sorted(m for m in ('click', 'pydantic', 'pygit2') if m in sys.modules), file=sys.stderr)")
    for args in ((), ("--format", "json"), ("--phenotype", PHENOTYPE), ("--format=json", "--phenotype=supermicro_x11")):
        first = sggit(project, "status", *args, env=unrefreshed())
        again = subprocess.run([sys.executable, "-c", probe, "status", *args], cwd=project / "contracts", capture_output=True,
                               text=True, env={**os.environ, "SGGIT_HOST": "testhost"})
        assert again.returncode == 0, again.stderr
        assert again.stdout == first.stdout and again.stderr == "[]\n"


def test_a_run_sync_register_and_rollback_each_make_status_current(project: Path, tmp_path: Path) -> None:
    before = fresh(project)
    assert "0 calls" in before and "waiting in the journal" not in before
    sg(project, "run", "bridge_create", "--phenotype", PHENOTYPE, "--input", BRIDGE)
    journalled = fresh(project)
    assert journalled != before and "waiting in the journal" in journalled
    sg(project, "run", "bridge_create", "--phenotype", PHENOTYPE, "--input", BRIDGE)  # one more record, same file
    twice = fresh(project, "--format", "json")
    row = next(r for r in json.loads(twice)["phenotypes"][0]["loci"] if r["locus"] == "bridge_create")
    assert row["invocations"] == 2
    sg(project, "sync")
    synced = json.loads(fresh(project, "--format", "json"))
    assert synced["journal_pending_bytes"] == 0
    assert next(r for r in synced["phenotypes"][0]["loci"] if r["locus"] == "bridge_create")["invocations"] == 2
    source = tmp_path / "mine.py"
    source.write_text("import json\n\ndef execute(input_json):\n    return json.dumps({'success': True, 'resources_created': []})\n")
    sg(project, "register", "bridge_create", str(source), "--as", "dominant", "--phenotype", PHENOTYPE)
    registered = fresh(project, "--phenotype", PHENOTYPE)
    mine = git(project, "hash-object", str(source))
    assert f"bridge_create        {mine[:12]}" in registered
    sg(project, "rollback", "--phenotype", PHENOTYPE)
    rolled = fresh(project, "--phenotype", PHENOTYPE)
    assert mine[:12] not in rolled


def test_a_promotion_makes_status_current(project: Path) -> None:
    genome = Genome.open(project)
    locus = "check_link_state"
    seed = alleles_at(genome, locus)[0]
    source = (project / "genome" / locus).glob("*.py").__next__().read_text() + "\n# evolved\n"
    mutant = register_allele(genome, locus, source, Lineage(locus=locus, origin="mutation", parents=[seed], engine="fixture", generation=1)).id
    phenostore.register_in_phenotype(genome, PHENOTYPE, locus, mutant, "recessive")
    for i in range(50):
        record(genome, Record(allele=seed, locus=locus, ok=i % 2 == 0, error="flaky"))
        record(genome, Record(allele=mutant, locus=locus, ok=True))
    sync(genome)
    before = fresh(project, "--phenotype", PHENOTYPE)
    assert "waits for review" in sg(project, "promote", "--phenotype", PHENOTYPE)
    assert fresh(project, "--phenotype", PHENOTYPE) == before  # a branch to review: nothing is expressed yet
    branch = f"sggit/promote/{PHENOTYPE}/{locus}"
    git(project, "update-ref", f"refs/heads/phenotype/{PHENOTYPE}", branch)  # the review merges it
    after = fresh(project, "--phenotype", PHENOTYPE)
    assert f"{locus}     {seed[:12]}" in before and f"{locus}     {mutant[:12]}" in after


def test_a_pull_that_moves_a_peers_notes_makes_status_current(project: Path, tmp_path: Path) -> None:
    identity(project)
    git(project, "checkout", "-q", "-B", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "genome")
    bare = tmp_path / "fleet.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(project, "remote", "add", "origin", str(bare))
    git(project, "push", "-q", "origin", "main")
    sg(project, "push", "origin", host="host-a")
    clone = tmp_path / "host-b"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    identity(clone)
    sg(clone, "pull", "origin", host="host-b")
    quiet = fresh(clone, "--format", "json", host="host-b")
    sg(project, "run", "bridge_create", "--phenotype", PHENOTYPE, "--input", BRIDGE, host="host-a")
    sg(project, "sync", host="host-a")
    sg(project, "push", "origin", host="host-a")
    sg(clone, "pull", "origin", host="host-b")
    pulled = fresh(clone, "--format", "json", host="host-b")
    row = next(r for r in json.loads(pulled)["phenotypes"][0]["loci"] if r["locus"] == "bridge_create")
    assert pulled != quiet and row["invocations"] == 1


def test_options_host_and_code_each_have_their_own_answer(project: Path) -> None:
    text = fresh(project)
    as_json = fresh(project, "--format", "json")
    one = fresh(project, "--phenotype", PHENOTYPE)
    assert len({text, as_json, one}) == 3
    assert fast_status.kept_output("text", None, start=str(project)) == text
    # The host names the fitness ref whose history says which journal segments are folded already.
    fresh(project, "--format", "json", host="elsewhere")
    fresh(project, "--format", "json")
    loaded = fast_status.loaded_code()
    assert any(os.path.join("pydantic", "__init__.py") in p for p in loaded)  # an upgraded dependency renders anew too
    code = sorted(p for p in loaded if p.endswith(os.path.join("genome", "views.py")))[0]
    stat = os.stat(code)
    os.utime(code, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    try:
        fresh(project, "--format", "json")  # the code that renders status changed: the kept answer is not its
    finally:
        os.utime(code, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_editing_the_working_trees_contracts_and_phenotypes_changes_no_answer(project: Path) -> None:
    """Status reads refs, not the working tree, so a kept answer stays the full one's."""
    text = fresh(project)
    for path in [*(project / "contracts").rglob("*.sg"), *(project / "phenotypes").rglob("*")][:4]:
        if path.is_file():
            path.write_text(path.read_text() + "\n# edited\n")
    assert fast_status.kept_output("text", None, start=str(project)) == text == sg(project, "status")


def test_commits_tags_and_stashes_of_the_users_own_leave_the_answer_standing(project: Path) -> None:
    """Status reads sggit's refs only, so everyday git work on the project keeps the status warm."""
    identity(project)
    git(project, "checkout", "-q", "-B", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "--no-verify", "-m", "genome")
    text = fresh(project)
    (project / "notes.txt").write_text("a file of the user's\n")
    git(project, "add", "notes.txt")
    git(project, "commit", "-q", "--no-verify", "-m", "the user's own change")
    git(project, "tag", "v1")
    git(project, "checkout", "-q", "-b", "feature")
    (project / "notes.txt").write_text("stashed\n")
    git(project, "stash", "-q")
    assert fast_status.kept_output("text", None, start=str(project)) == text == sg(project, "status")


def test_a_fetch_of_the_users_branches_leaves_the_answer_standing_and_one_of_sggits_does_not(project: Path) -> None:
    """Remote-tracking refs are read only for sggit's branches, so `git fetch` of a project's own remote keeps status warm."""
    text = fresh(project)
    tip = git(project, "rev-parse", "refs/heads/sggit/genome")
    for ref in ("refs/remotes/origin/main", "refs/remotes/origin/feature/x", "refs/remotes/team/a/main"):
        git(project, "update-ref", ref, tip)
    assert fast_status.kept_output("text", None, start=str(project)) == text == sg(project, "status")
    git(project, "update-ref", "refs/remotes/team/a/sggit/genome", tip)  # a remote named `team/a`
    assert fresh(project) == text
    git(project, "update-ref", "refs/remotes/origin/sggit/genome", tip)
    fresh(project)


def test_only_sggits_remote_tracking_refs_are_described() -> None:
    assert fast_status.read_by_status("refs/remotes/origin/sggit/genome")
    assert fast_status.read_by_status("refs/remotes/a/b/sggit/genome")
    assert fast_status.read_by_status("refs/notes/sggit/fitness/h")
    assert not fast_status.read_by_status("refs/remotes/origin/main")
    assert not fast_status.read_by_status("refs/remotes/sggit/main")


def test_every_ref_status_reads_is_under_the_described_prefixes() -> None:
    from sggit.genome.fleet import MIRROR_ROOT
    from sggit.genome.mutations import MUTATIONS_BRANCH
    from sggit.genome.repo import FITNESS_REF_PREFIX, GENOME_REF, LINEAGE_REF, PHENOTYPE_REF_PREFIX

    for ref in (PHENOTYPE_REF_PREFIX, GENOME_REF, FITNESS_REF_PREFIX, LINEAGE_REF, MIRROR_ROOT, MUTATIONS_BRANCH, "refs/remotes/origin/sggit/genome"):
        assert any(ref.startswith(prefix + "/") for prefix in fast_status.STATUS_REFS), ref


def test_a_status_that_fails_or_warns_is_never_kept(project: Path) -> None:
    for _ in range(2):
        failed = sggit(project, "status", "--phenotype", "nope", code=2, env=unrefreshed())
        assert "no phenotype nope" in failed.stderr and not failed.stdout
    assert fast_status.kept_output("text", "nope", start=str(project)) is None
    sggit(project, "run", "bridge_create", "--phenotype", PHENOTYPE, "--input", BRIDGE, code=None, env=unrefreshed())
    with journal_path(Genome.open(project)).open("ab") as journal:
        journal.write(b"{not a record\n")
    warned = [sggit(project, "status", env=unrefreshed()) for _ in range(2)]
    for done in warned:
        assert "damaged journal line skipped" in done.stderr
    assert warned[0].stdout == warned[1].stdout
    assert fast_status.kept_output("text", None, start=str(project)) is None


@pytest.mark.parametrize("args, parsed", [
    ([], ("text", None)),
    (["--format", "json"], ("json", None)),
    (["--format=text", "--phenotype", "p"], ("text", "p")),
    (["--phenotype=a", "--phenotype=b"], ("text", "b")),
    (["--format", "xml"], None),
    (["--help"], None),
    (["--phenotype"], None),
    (["--phenotype", "--format", "json"], None),
    (["extra"], None),
])
def test_only_the_options_status_takes_are_answered_from_a_kept_output(args: list[str], parsed: tuple[str, str | None] | None) -> None:
    assert fast_status.options(args) == parsed


def test_an_answer_whose_inputs_moved_while_it_was_rendered_is_not_kept(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    genome = Genome.open(project)
    with fast_status.Recording(str(genome.git_dir), "text", None) as recording:
        text = "rendered before the record below\n"
        record(genome, Record(allele=alleles_at(genome, "bridge_create")[0], locus="bridge_create", ok=True))
    assert recording.keep(text) is False
    assert fast_status.kept_output("text", None) is None


def test_a_kept_status_whose_reader_went_away_stops_quietly_as_the_full_one_does(project: Path) -> None:
    sggit(project, "status", env=unrefreshed())
    assert fast_status.kept_output("text", None, start=str(project)) is not None
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "sggit", "status"], cwd=project, stdout=write, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "SGGIT_HOST": "testhost"})
    finally:
        os.close(write)
    assert done.returncode == 141 and done.stderr == ""


def test_a_plain_status_with_nothing_kept_runs_in_full_without_click_and_says_what_the_click_command_says(project: Path) -> None:
    probe = ("import sys; sys.argv = ['sggit', *sys.argv[1:]]\nfrom sggit.cli import main\ncode = 0\ntry:\n    main()\n"
             "except SystemExit as e:\n    code = e.code\nprint(code, 'click' in sys.modules, 'pygit2' in sys.modules, file=sys.stderr)")
    env = {**os.environ, "SGGIT_HOST": "testhost", "SGGIT_STATUS_REFRESH": "0"}
    for args, code in (((), 0), (("--format", "json"), 0), (("--phenotype", "nope"), 2)):
        for kept in (project / ".git" / "sggit" / "cache").glob("status-*.snap"):
            kept.unlink()
        plain = subprocess.run([sys.executable, "-c", probe, "status", *args], cwd=project, capture_output=True, text=True, env=env)
        said, _, loaded = plain.stderr.rstrip("\n").rpartition("\n")
        assert loaded.split() == [str(code), "False", "True"], plain.stderr  # rendered in full, and click never imported
        through_click = subprocess.run([sys.executable, "-m", "sggit", "-C", str(project), "status", *args], capture_output=True, text=True, env=env)
        assert (through_click.returncode, through_click.stdout) == (code, plain.stdout)
        assert through_click.stderr == (said + "\n" if said else "")
