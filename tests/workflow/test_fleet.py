"""Two hosts sharing one bare remote: alleles, lineage, fitness and phenotypes move, nothing is overwritten."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pygit2
import pytest

from sggit.genome.fleet import OUTBOX_PREFIX, merge_maps, mirror_prefix, outbox_ref
from sggit.genome.phenolayout import read_tree
from sggit.genome.phenotype import PhenotypeMap
from tests.helpers import sggit
from tests.workflow.helpers import INPUT, PATHWAY, PHENOTYPE, git, identity, sggit_json

MUTANT = '''import json


def execute(input_json):
    data = json.loads(input_json)
    return json.dumps({"success": True, "note": %r})
'''


@pytest.fixture
def fleet(tmp_path: Path, genome_project: Path) -> tuple[Path, Path, Path]:
    bare = tmp_path / "fleet.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    a = genome_project
    git(a, "remote", "add", "origin", str(bare))
    git(a, "push", "-q", "origin", "main")
    sggit(a, "push", host="alpha")
    b = tmp_path / "host-b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    identity(b)
    sggit(b, "pull", host="beta")
    return bare, a, b


def _refs(path: Path) -> dict[str, str]:
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines()) if out else {}


def _locus_alleles(path: Path, locus: str) -> set[str]:
    tree = git(path, "ls-tree", "-r", "--name-only", f"sggit/genome:genome/{locus}")
    return {name[:-3].replace("/", "") for name in tree.splitlines()}


def _mutate(path: Path, host: str, locus: str, note: str, state: str = "recessive") -> str:
    src = path.parent / f"{host}-{locus}.py"
    src.write_text(MUTANT % note)
    return sggit_json(path, "register", locus, str(src), "--as", state, "--phenotype", PHENOTYPE, host=host)["id"]


def _map(path: Path) -> PhenotypeMap:
    """The map on the phenotype branch, read from its files as stock git stores them (no cache)."""
    repo = pygit2.Repository(pygit2.discover_repository(str(path)))
    tree = repo.revparse_single(f"refs/heads/phenotype/{PHENOTYPE}").peel(pygit2.Tree)
    return read_tree(repo, tree, PHENOTYPE, str(path)).pmap


def _expressed(path: Path) -> set[str]:
    return {a for entry in _map(path).loci.values() for a in entry.alleles}


def _stack(path: Path, locus: str) -> list[str]:
    return _map(path).loci[locus].stack


def test_pull_gives_a_clone_the_whole_genome(fleet: tuple[Path, Path, Path]) -> None:
    _, a, b = fleet
    ra, rb = _refs(a), _refs(b)
    for ref in ("refs/heads/sggit/genome", "refs/notes/sggit/lineage", f"refs/heads/phenotype/{PHENOTYPE}"):
        assert rb[ref] == ra[ref]
    assert json.loads(sggit(b, "run", PATHWAY, "--phenotype", PHENOTYPE, "--input", json.dumps(INPUT), host="beta").stdout)["ok"] is True


def test_two_hosts_see_each_others_alleles_lineage_and_fitness(fleet: tuple[Path, Path, Path]) -> None:
    _, a, b = fleet
    for path, host in ((a, "alpha"), (b, "beta")):
        sggit(path, "run", PATHWAY, "--phenotype", PHENOTYPE, "--input", json.dumps(INPUT), host=host)
    mutant_a = _mutate(a, "alpha", "bridge_create", "from alpha")
    mutant_b = _mutate(b, "beta", "bridge_uplink", "from beta")

    sggit(a, "push", host="alpha")
    sggit(b, "push", host="beta")
    sggit(a, "pull", host="alpha")

    for path in (a, b):
        assert mutant_a in _locus_alleles(path, "bridge_create")
        assert mutant_b in _locus_alleles(path, "bridge_uplink")
        for mutant in (mutant_a, mutant_b):
            note = json.loads(git(path, "notes", "--ref", "sggit/lineage", "show", mutant))
            assert note["locus"] in ("bridge_create", "bridge_uplink")
        refs = _refs(path)
        assert "refs/notes/sggit/fitness/alpha" in refs and "refs/notes/sggit/fitness/beta" in refs
    # Both phenotype registrations survive: the maps changed different loci and merged.
    for path in (a, b):
        assert {mutant_a, mutant_b} <= _expressed(path)
    assert _refs(a)[f"refs/heads/phenotype/{PHENOTYPE}"] == _refs(b)[f"refs/heads/phenotype/{PHENOTYPE}"]

    # Fitness aggregates on read: the dominant's invocations are the two hosts' sum.
    per_host = {}
    for path, host in ((a, "alpha"), (b, "beta")):
        counts = {}
        for ph in sggit_json(path, "status", host=host)["phenotypes"]:
            for row in ph["loci"]:
                counts[row["locus"]] = row["invocations_all"]
        per_host[host] = counts
    assert per_host["alpha"] == per_host["beta"]
    assert per_host["alpha"]["bridge_create"] == 2


def test_alleles_added_to_one_stack_on_two_hosts_are_a_union(fleet: tuple[Path, Path, Path]) -> None:
    bare, a, b = fleet
    seed_stack = _stack(a, "bridge_create")
    mutant_a = _mutate(a, "alpha", "bridge_create", "alpha's fallback")
    mutant_b = _mutate(b, "beta", "bridge_create", "beta's fallback")
    sggit(a, "push", host="alpha")
    sggit(b, "push", host="beta")
    before = git(a, "rev-parse", f"phenotype/{PHENOTYPE}").strip()
    sggit(a, "pull", host="alpha")
    for path in (a, b, bare):
        stack = _stack(path, "bridge_create")
        assert stack[: len(seed_stack)] == seed_stack
        assert set(stack[len(seed_stack):]) == {mutant_a, mutant_b}
    # the merge touches the two new alleles' files only: beta's added, alpha's at most re-ranked after it
    changed = dict(reversed(line.split("\t")) for line in git(a, "diff", "--name-status", before, f"phenotype/{PHENOTYPE}").splitlines())
    path = f"phenotypes/{PHENOTYPE}/bridge_create/{{0}}/{{1}}.toml".format
    assert changed[path(mutant_b[:2], mutant_b[2:])] == "A"
    assert set(changed) <= {path(mutant_b[:2], mutant_b[2:]), path(mutant_a[:2], mutant_a[2:])}
    assert _refs(a)[f"refs/heads/phenotype/{PHENOTYPE}"] == _refs(bare)[f"refs/heads/phenotype/{PHENOTYPE}"]


def test_conflicting_phenotype_change_is_reported_not_overwritten(fleet: tuple[Path, Path, Path]) -> None:
    bare, a, b = fleet
    _mutate(a, "alpha", "bridge_create", "alpha's choice", state="dominant")
    _mutate(b, "beta", "bridge_create", "beta's choice", state="dominant")
    sggit(a, "push", host="alpha")
    before_b = _refs(b)[f"refs/heads/phenotype/{PHENOTYPE}"]
    remote_tip = _refs(bare)[f"refs/heads/phenotype/{PHENOTYPE}"]

    done = sggit(b, "push", host="beta", code=None)
    assert done.returncode == 1
    assert f"conflict: phenotype/{PHENOTYPE}" in done.stderr
    assert _refs(b)[f"refs/heads/phenotype/{PHENOTYPE}"] == before_b
    assert _refs(bare)[f"refs/heads/phenotype/{PHENOTYPE}"] == remote_tip
    # Everything else still moved: beta's allele reached the remote.
    assert _refs(bare)["refs/heads/sggit/genome"] == _refs(b)["refs/heads/sggit/genome"]
    report = sggit_json(b, "pull", host="beta", code=None)
    assert report["ok"] is False and report["conflicts"][0]["kind"] == "phenotype"


SHARED = ("refs/heads/sggit/genome", "refs/notes/sggit/lineage", f"refs/heads/phenotype/{PHENOTYPE}")


def _lose_a_race(path: Path, host: str) -> None:
    """What `push` leaves on the remote when its push of the shared refs was refused: its values in its outbox."""
    git(path, "push", "-q", "origin", *[f"+{ref}:{outbox_ref(host, ref)}" for ref in SHARED])


def _outboxes(path: Path) -> set[str]:
    return {ref for ref in _refs(path) if ref.startswith(OUTBOX_PREFIX)}


def test_the_next_push_carries_the_alleles_of_a_host_that_lost_a_race(fleet: tuple[Path, Path, Path]) -> None:
    bare, a, b = fleet
    waiting = _mutate(b, "beta", "bridge_create", "beta, outraced")
    _lose_a_race(b, "beta")
    own = _mutate(a, "alpha", "bridge_uplink", "alpha's own")
    sggit(a, "push", host="alpha")
    # alpha's one push landed beta's allele, its lineage and its place in the stack too
    assert waiting in _locus_alleles(bare, "bridge_create") and own in _locus_alleles(bare, "bridge_uplink")
    notes = {line.split()[1] for line in git(bare, "notes", "--ref", "sggit/lineage", "list").splitlines()}
    assert {waiting, own} <= notes
    assert waiting in _stack(bare, "bridge_create") and waiting in _expressed(bare)
    assert "from the outboxes of beta" in git(bare, "log", "-1", "--format=%s", "sggit/genome")
    landed = {ref: _refs(bare)[ref] for ref in SHARED}
    # beta finds its alleles landed: it pushes none of the shared refs, takes the remote's, and clears its outbox
    report = sggit_json(b, "push", host="beta")
    assert report["ok"] is True and not {c["ref"] for c in report["pushed"]} & set(SHARED)
    assert {ref: _refs(bare)[ref] for ref in SHARED} == landed
    assert {ref: _refs(b)[ref] for ref in SHARED} == landed
    assert _outboxes(bare) == set()


def test_the_outbox_of_a_host_that_stops_pushing_goes_once_the_remote_holds_it(fleet: tuple[Path, Path, Path]) -> None:
    """beta lost a race and went quiet (replaced, say): its outbox would be read by every integrate for ever."""
    bare, a, b = fleet
    waiting = _mutate(b, "beta", "bridge_create", "beta, outraced")
    _lose_a_race(b, "beta")
    boxes = _outboxes(bare)
    _mutate(a, "alpha", "bridge_uplink", "alpha's own")
    sggit(a, "push", host="alpha")
    assert waiting in _locus_alleles(bare, "bridge_create")
    assert _outboxes(bare) == boxes, "when alpha fetched them, the remote's shared refs did not hold them yet"
    # a remote whose rules keep outboxes costs the push nothing: this pre-receive hook refuses, whole, any push
    # that deletes one, so the deletions go in a push of their own
    hook = bare / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\nwhile read old new ref; do case "$new:$ref" in 0000000000000000000000000000000000000000:'
                    'refs/heads/sggit/outbox/*) echo "outboxes are kept here" >&2; exit 1;; esac; done\n')
    hook.chmod(0o755)
    _mutate(a, "alpha", "bridge_create", "alpha, kept")
    report = sggit_json(a, "push", host="alpha")
    assert report["ok"] is True and "refs/heads/sggit/genome" in {c["ref"] for c in report["pushed"]}
    assert _outboxes(bare) == boxes
    hook.unlink()
    _mutate(a, "alpha", "bridge_create", "alpha, later")
    sggit(a, "push", host="alpha")
    assert _outboxes(bare) == set(), "alpha's next push found them held and deleted them"
    assert waiting in _locus_alleles(bare, "bridge_create") and waiting in _stack(bare, "bridge_create")
    assert git(bare, "fsck", "--no-progress") == ""
    # beta, back, finds its allele landed and nothing of its own to clear
    report = sggit_json(b, "push", host="beta")
    assert report["ok"] is True and not {c["ref"] for c in report["pushed"]} & set(SHARED)
    assert _outboxes(bare) == set()


def test_an_outbox_no_push_could_have_left_is_skipped_with_a_warning(fleet: tuple[Path, Path, Path]) -> None:
    """A blob, or a stranger's commit whose tree would be merged into the genome: damage from a peer, not a value."""
    bare, a, b = fleet
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=bare, input="garbage{", capture_output=True, text=True, check=True).stdout.strip()
    empty = git(bare, "hash-object", "-t", "tree", "-w", "/dev/null")
    stranger = subprocess.run(["git", "commit-tree", empty, "-m", "not a genome"], cwd=bare, capture_output=True, text=True, check=True,
                              env={**os.environ, "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x",
                                   "GIT_COMMITTER_EMAIL": "x@x"}).stdout.strip()
    box = bare / outbox_ref("gamma", "refs/heads/sggit/genome")  # git will not put a blob on a branch: a damaged remote will
    box.parent.mkdir(parents=True)
    box.write_text(blob + "\n")
    git(bare, "update-ref", outbox_ref("delta", "refs/notes/sggit/lineage"), stranger)
    before = {ref: sha for ref, sha in _refs(b).items() if ref in SHARED}
    done = sggit(b, "pull", host="beta")
    assert f"{outbox_ref('gamma', 'refs/heads/sggit/genome')} on origin: damaged outbox skipped: it names a blob, not a commit" in done.stderr
    assert f"{outbox_ref('delta', 'refs/notes/sggit/lineage')} on origin: damaged outbox skipped: it shares no history" in done.stderr
    assert {ref: sha for ref, sha in _refs(b).items() if ref in SHARED} == before
    doctor = sggit(b, "doctor", host="beta", code=1).stdout
    assert f"{outbox_ref('gamma', 'refs/heads/sggit/genome')} on origin: it names a blob, not a commit (skipped when read)" in doctor, doctor
    assert f"{outbox_ref('delta', 'refs/notes/sggit/lineage')} on origin: it shares no history" in doctor
    mine = _mutate(b, "beta", "bridge_create", "beta, among the damage")
    sggit(b, "push", host="beta")
    assert mine in _locus_alleles(bare, "bridge_create")
    assert git(b, "fsck", "--no-progress") == ""
    git(b, "remote", "rename", "origin", "team/a")  # the doctor names a remote as it is typed, not as sggit mirrors it
    sggit(b, "pull", "team/a", host="beta")
    assert f"{outbox_ref('gamma', 'refs/heads/sggit/genome')} on team/a: it names a blob" in sggit(b, "doctor", host="beta", code=1).stdout
    box.unlink()  # fsck rightly names the planted blob on a branch (then dangling); all else must be whole
    assert git(bare, "fsck", "--no-progress", "--no-dangling") == ""


RACE_THEN_NO_OUTBOXES = """#!/bin/sh
# The first push loses a race: another host moves sggit/genome while it is received.
# After that, this remote keeps no outboxes: a push that writes one is refused whole.
input=$(cat)
if [ ! -e raced ]; then
  touch raced
  unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
  tip=$(git rev-parse refs/heads/sggit/genome)
  won=$(GIT_AUTHOR_NAME=o GIT_AUTHOR_EMAIL=o@o GIT_COMMITTER_NAME=o GIT_COMMITTER_EMAIL=o@o \\
        git commit-tree "$tip^{tree}" -p "$tip" -m "another host won")
  git update-ref refs/heads/sggit/genome "$won" "$tip"
  exit 0
fi
case "$input" in *refs/heads/sggit/outbox/*) echo "no outboxes on this remote" >&2; exit 1;; esac
"""


def test_a_remote_that_refuses_outboxes_is_pushed_to_as_though_there_were_none(fleet: tuple[Path, Path, Path]) -> None:
    bare, a, _ = fleet
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(RACE_THEN_NO_OUTBOXES)
    hook.chmod(0o755)
    mine = _mutate(a, "alpha", "bridge_create", "alpha, racing a strict remote")
    report = sggit_json(a, "push", host="alpha")
    assert (bare / "raced").exists(), "the first push lost its race"
    assert report["ok"] is True and "refs/heads/sggit/genome" in {c["ref"] for c in report["pushed"]}
    assert mine in _locus_alleles(bare, "bridge_create") and mine in _stack(bare, "bridge_create")
    assert "another host won" in git(bare, "log", "--format=%s", "sggit/genome")
    assert _outboxes(bare) == set()


def test_an_outbox_that_clashes_is_left_to_its_owner_to_report(fleet: tuple[Path, Path, Path]) -> None:
    bare, a, b = fleet
    _mutate(b, "beta", "bridge_create", "beta's choice", state="dominant")
    _lose_a_race(b, "beta")
    alphas = _mutate(a, "alpha", "bridge_create", "alpha's choice", state="dominant")
    done = sggit(a, "push", host="alpha")
    assert "conflict" not in done.stderr, "beta's clash is not alpha's to report"
    assert _map(bare).loci["bridge_create"].dominant == alphas
    done = sggit(b, "push", host="beta", code=1)
    assert f"conflict: phenotype/{PHENOTYPE}" in done.stderr
    assert _map(bare).loci["bridge_create"].dominant == alphas
    assert _outboxes(bare) == set(), "an outbox no host can merge is not left for every host to try"


def test_lineage_notes_from_two_hosts_merge_without_loss(fleet: tuple[Path, Path, Path]) -> None:
    _, a, b = fleet
    ids = [_mutate(a, "alpha", "bridge_create", f"a{i}") for i in range(3)]
    ids += [_mutate(b, "beta", "bridge_uplink", f"b{i}") for i in range(3)]
    sggit(a, "push", host="alpha")
    sggit(b, "pull", host="beta")
    notes = git(b, "notes", "--ref", "sggit/lineage", "list")
    annotated = {line.split()[1] for line in notes.splitlines()}
    assert set(ids) <= annotated
    lineage_log = git(b, "log", "--format=%P", "-1", "refs/notes/sggit/lineage").split()
    assert len(lineage_log) == 2


def test_one_source_registered_at_different_loci_on_two_hosts_keeps_both_lineages(fleet: tuple[Path, Path, Path]) -> None:
    _, a, b = fleet
    first = _mutate(a, "alpha", "bridge_create", "shared")
    second = _mutate(b, "beta", "bridge_uplink", "shared")
    assert first == second, "the same source is one blob"
    sggit(a, "push", host="alpha")
    sggit(b, "pull", host="beta")
    note = json.loads(git(b, "notes", "--ref", "sggit/lineage", "show", first))
    assert sorted(note["loci"]) == ["bridge_create", "bridge_uplink"]
    assert note["loci"]["bridge_create"]["host"] == "alpha" and note["loci"]["bridge_uplink"]["host"] == "beta"


def test_unreachable_remote_is_a_clear_error(genome_project: Path) -> None:
    done = sggit(genome_project, "pull", "/nonexistent/remote.git", code=None)
    assert done.returncode == 1
    assert "cannot fetch from /nonexistent/remote.git: '/nonexistent/remote.git' does not appear to be a git repository" in done.stderr
    assert "Traceback" not in done.stderr and "and the repository exists" not in done.stderr


def test_a_push_the_remote_declines_is_reported_at_once_not_retried(fleet: tuple[Path, Path, Path]) -> None:
    """A pre-receive hook that refuses is the remote's rule, not a race: say its reason, do not wait out the deadline."""
    bare, a, _ = fleet
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are frozen for the release' >&2\nexit 1\n")
    hook.chmod(0o755)
    _mutate(a, "alpha", "bridge_create", "frozen")
    done = sggit(a, "push", host="alpha", code=1)
    assert "the remote declined refs/" in done.stderr and "pre-receive hook declined" in done.stderr, done.stderr


@pytest.mark.parametrize("command", ["push", "pull"])
def test_a_remote_that_is_not_configured_is_a_usage_error_that_says_so(genome_project: Path, command: str) -> None:
    """git takes an unknown name for a path and ends its answer with advice on access rights; the mistake is the name."""
    before = git(genome_project, "for-each-ref")
    alone = sggit(genome_project, command, "origin", code=2)
    assert alone.stderr.startswith("sggit: error: no remote named origin\n")
    assert "this repository has no remote; add one with `git remote add origin URL`" in alone.stderr
    assert "and the repository exists" not in alone.stderr and "appear to be" not in alone.stderr
    assert git(genome_project, "for-each-ref") == before, "a mistyped remote changes nothing"


@pytest.mark.parametrize("command", ["push", "pull"])
def test_an_unknown_remote_beside_configured_ones_lists_them(fleet: tuple[Path, Path, Path], command: str) -> None:
    _, a, _ = fleet
    git(a, "remote", "add", "backup", "/nonexistent/backup.git")
    typo = sggit(a, command, "nosuchremote", host="alpha", code=2)
    assert "sggit: error: no remote named nosuchremote" in typo.stderr
    assert "configured remotes: origin, backup;" in typo.stderr and "git remote add nosuchremote URL" in typo.stderr
    # A configured remote that cannot be reached is git's first fatal line, and exit 1.
    gone = sggit(a, command, "backup", host="alpha", code=1)
    assert "cannot fetch from backup: '/nonexistent/backup.git' does not appear to be a git repository" in gone.stderr
    assert "Could not read" not in gone.stderr and "and the repository exists" not in gone.stderr


def test_merge_maps_takes_each_sides_loci_and_refuses_a_clash() -> None:
    base = {"name": "p", "loci": {"x": {"dominant": "1"}, "y": {"dominant": "2"}}}
    ours = {"name": "p", "loci": {"x": {"dominant": "3"}, "y": {"dominant": "2"}}}
    theirs = {"name": "p", "loci": {"x": {"dominant": "1"}, "y": {"dominant": "4"}, "z": {}}}
    assert merge_maps(base, ours, theirs) == {"name": "p", "loci": {"x": {"dominant": "3"}, "y": {"dominant": "4"}, "z": {}}}
    clash = {"name": "p", "loci": {"x": {"dominant": "5"}, "y": {"dominant": "2"}}}
    assert merge_maps(base, ours, clash) is None


def _locus(dominant: str, *recessive: str) -> dict:
    return {"dominant": dominant, "stack": [dominant, *recessive],
            "alleles": {dominant: {"state": "dominant"}, **{r: {"state": "recessive"} for r in recessive}}}


def test_merge_maps_unions_one_locus_and_keeps_a_promotion() -> None:
    d, x, y, z = "d" * 40, "1" * 40, "2" * 40, "3" * 40
    base = {"name": "p", "loci": {"l": _locus(d, x)}}
    promoted = {"name": "p", "loci": {"l": _locus(x, d)}}
    added = {"name": "p", "loci": {"l": _locus(d, x, y)}}
    merged = merge_maps(base, promoted, added)
    assert merged is not None and merged["loci"]["l"] == _locus(x, d, y)
    # The same union whichever side is ours; the promotion wins the order, additions follow.
    assert merge_maps(base, added, promoted) == merged
    other = {"name": "p", "loci": {"l": _locus(d, x, z)}}
    assert merge_maps(base, added, other)["loci"]["l"] == _locus(d, x, y, z)  # type: ignore[index]
    rival = {"name": "p", "loci": {"l": _locus(y, d, x)}}
    assert merge_maps(base, promoted, rival) is None
    assert mirror_prefix("/srv/fleet.git") == "refs/sggit/remotes/srv_fleet.git/"


def test_simultaneous_pushes_from_two_hosts_lose_nothing(fleet: tuple[Path, Path, Path]) -> None:
    import os
    import subprocess
    import sys

    bare, a, b = fleet
    mutant_a = _mutate(a, "alpha", "bridge_create", "alpha, racing")
    mutant_b = _mutate(b, "beta", "bridge_uplink", "beta, racing")
    procs = [
        subprocess.Popen([sys.executable, "-m", "sggit", "push"], cwd=path, env={**os.environ, "SGGIT_HOST": host}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for path, host in ((a, "alpha"), (b, "beta"))
    ]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert [r[2] for r in results] == [0, 0], results
    assert mutant_a in _locus_alleles(bare, "bridge_create")
    assert mutant_b in _locus_alleles(bare, "bridge_uplink")
    notes = git(bare, "notes", "--ref", "sggit/lineage", "list")
    assert {mutant_a, mutant_b} <= {line.split()[1] for line in notes.splitlines()}
    assert {mutant_a, mutant_b} <= _expressed(bare)


HOSTS = 50


@pytest.mark.slow
def test_fifty_hosts_pushing_at_once_lose_nothing(tmp_path: Path) -> None:
    """Every host adds its own allele to one locus's stack, with lineage, fitness and a proposal, then all push together."""
    from sggit.genome import phenostore
    from sggit.genome.repo import Genome
    from tests import fleet_crowd

    crowd = fleet_crowd.build(tmp_path, HOSTS)
    reports = fleet_crowd.push_at_once(crowd)
    failed = {h: r for h, r in reports.items() if not getattr(r, "ok", False)}
    assert len(reports) == HOSTS and not failed, failed

    bare, expected = crowd.bare, crowd.alleles
    remote = Genome.open(bare)
    genome_tree = set(git(bare, "ls-tree", "-r", "--name-only", "sggit/genome:genome/bridge_create").split())
    assert {f"{a[:2]}/{a[2:]}.py" for a in [*expected.values(), crowd.seed]} == genome_tree
    notes = {line.split()[1] for line in git(bare, "notes", "--ref", "sggit/lineage", "list").splitlines()}
    assert set(expected.values()) | {crowd.seed} == notes
    refs = _refs(bare)
    for name, allele in expected.items():
        fitness = json.loads(git(bare, "notes", "--ref", f"sggit/fitness/{name}", "show", allele))
        assert (fitness["total"], fitness["successes"]) == (1, 1)
        assert f"refs/heads/sggit/mutations/{name}" in refs
    stack = phenostore.read_phenotype(remote, "fleet").loci["bridge_create"].stack
    assert stack[0] == crowd.seed and sorted(stack[1:]) == sorted(expected.values())
    # A host whose alleles another host carried clears its outbox; none is left behind.
    assert not [ref for ref in refs if ref.startswith(OUTBOX_PREFIX)]
    remote.repo.free()
    crowd.free()


def _children(pid: int) -> list[tuple[int, str]]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == pid:
            out.append((int(entry.name), comm))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_a_killed_pull_takes_its_git_child_with_it(tmp_path: Path) -> None:
    """SIGKILL sggit while `git fetch` waits on a slow remote: the fetch must not run on."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import pygit2

    from sggit.genome.alleles import register_allele
    from sggit.genome.fleet import push
    from sggit.genome.lineage import Lineage
    from sggit.genome.repo import Genome
    from tests import fleet_crowd

    bare = tmp_path / "fleet.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    host = Genome.open(pygit2.init_repository(str(tmp_path / "host")).path, host="alpha")
    register_allele(host, "bridge_create", fleet_crowd.host_allele(1), Lineage(locus="bridge_create", origin="seed"))
    assert push(host, str(bare)).ok
    started = tmp_path / "upload-pack.pid"
    slow = tmp_path / "slow-upload-pack"
    slow.write_text(f'#!/bin/sh\necho $$ > {started}\nsleep 60\nexec git-upload-pack "$@"\n')
    slow.chmod(0o755)
    clone = tmp_path / "clone"
    pygit2.init_repository(str(clone))
    git(clone, "remote", "add", "slow", str(bare))
    git(clone, "config", "remote.slow.uploadpack", str(slow))

    proc = subprocess.Popen([sys.executable, "-m", "sggit", "pull", "slow"], cwd=clone, env={**os.environ, "SGGIT_HOST": "beta"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    helper = None
    try:
        for _ in range(600):
            if started.exists() and started.read_text().strip():
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the slow upload-pack never started")
        helper = int(started.read_text())
        fetches = [pid for pid, comm in _children(proc.pid) if comm == "git"]
        assert fetches, "sggit pull has no git child while fetching"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in fetches) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in fetches), "git fetch outlived the killed sggit"
    finally:
        if proc.poll() is None:
            proc.kill()
        if helper is not None and _alive(helper):
            os.kill(helper, signal.SIGKILL)
