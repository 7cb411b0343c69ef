from __future__ import annotations

from sggit.genome.notes import iter_notes, read_note, write_notes
from sggit.genome.repo import Genome
from tests.genome.helpers import git

REF = "refs/notes/sggit/test"


def _blobs(genome: Genome, n: int) -> list[str]:
    return [str(genome.repo.create_blob(f"allele {i}\n".encode())) for i in range(n)]


def test_a_batch_is_one_commit_in_fanout_layout_that_stock_git_reads(genome: Genome, repo_dir) -> None:
    ids = _blobs(genome, 300)
    write_notes(genome, REF, {i: f"note of {i}\n".encode() for i in ids}, "batch")
    assert git(repo_dir, "rev-list", "--count", REF).stdout.strip() == "1"
    top = git(repo_dir, "ls-tree", REF).stdout.splitlines()
    assert top and all(line.split()[1] == "tree" and len(line.split("\t")[1]) == 2 for line in top)
    assert git(repo_dir, "notes", "--ref", "sggit/test", "show", ids[17]).stdout == f"note of {ids[17]}\n"
    assert len(git(repo_dir, "notes", "--ref", "sggit/test", "list").stdout.splitlines()) == 300


def test_replacing_a_note_keeps_one_entry(genome: Genome, repo_dir) -> None:
    [one] = _blobs(genome, 1)
    write_notes(genome, REF, {one: b"first\n"}, "one")
    write_notes(genome, REF, {one: b"second\n"}, "two")
    assert read_note(genome, REF, one) == b"second\n"
    assert [k for k, _ in iter_notes(genome, REF)] == [one]
    assert git(repo_dir, "notes", "--ref", "sggit/test", "show", one).stdout == "second\n"


def test_notes_added_by_stock_git_are_read_and_replaced_cleanly(genome: Genome, repo_dir) -> None:
    a, b = _blobs(genome, 2)
    git(repo_dir, "notes", "--ref", "sggit/test", "add", "-m", "from git", a)
    assert read_note(genome, REF, a) == b"from git\n"
    write_notes(genome, REF, {a: b"ours\n", b: b"also ours\n"}, "mixed")
    assert dict(iter_notes(genome, REF)) == {a: b"ours\n", b: b"also ours\n"}
    assert git(repo_dir, "notes", "--ref", "sggit/test", "show", a).stdout == "ours\n"


def test_writing_nothing_new_makes_no_commit(genome: Genome, repo_dir) -> None:
    [one] = _blobs(genome, 1)
    first = write_notes(genome, REF, {one: b"x\n"}, "one")
    assert first is not None
    assert write_notes(genome, REF, {one: b"x\n"}, "again") is None
    assert git(repo_dir, "rev-list", "--count", REF).stdout.strip() == "1"
