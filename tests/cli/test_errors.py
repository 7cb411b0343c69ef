"""The error boundary: user errors are messages with exit 1 or 2, sggit's own bugs exit 3 with a log.

Everything here goes through the command line, mostly as a subprocess, as a
user meets it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sggit.cli.errors import log_traceback
from sggit.kernel import kinds
from sggit.kernel.kinds import KernelFactory, KernelKind, KernelTarget
from tests.helpers import sg_in, sggit

SGGIT = [sys.executable, "-m", "sggit"]




def clean(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in result.stderr


def test_report_into_an_impossible_directory(project: Path) -> None:
    clean(sggit(project, "report", "--out", "/proc/nope", code=None), 1, "sggit: error: /proc/nope: No such file or directory")


def test_mock_init_into_an_impossible_path(tmp_path: Path) -> None:
    clean(sggit(tmp_path, "kernel", "mock-init", "/proc/x.json", code=None), 2, "cannot write mock kernel state /proc/x.json")


def test_init_in_a_sha256_repository_refuses_and_changes_nothing(tmp_path: Path) -> None:
    if subprocess.run(["git", "init", "-q", "--object-format=sha256", str(tmp_path / "r")], capture_output=True, check=False).returncode:
        pytest.skip("this git cannot make SHA-256 repositories")
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "r").rglob("*"))
    clean(sggit(tmp_path / "r", "init", code=None), 2, "uses SHA-256 object names", "git init --object-format=sha1")
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "r").rglob("*")) == before


def _read_only_mounts() -> str | None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare(1) to mount .git read-only in a private mount namespace"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return None if probe.returncode == 0 else "unshare -m is not permitted here"


def read_only_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run sggit with the repository's .git bind-mounted read-only, as on a read-only medium.

    (chmod does not stop root, so the directory is made truly read-only instead.)
    """
    return with_mounts(cwd, "mount --bind .git .git && mount -o remount,ro,bind .git", *args)


def with_mounts(cwd: Path, mounts: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run sggit after the shell commands `mounts`, in a private mount namespace that dies with it."""
    command = " ".join(f"'{a}'" for a in [*SGGIT, *args])
    return subprocess.run(["unshare", "-m", "sh", "-c", f"{mounts} && exec {command}"], cwd=cwd, capture_output=True,
                          text=True, check=False, env={**os.environ, "SGGIT_HOST": "testhost"})


def _crash_logs(project: Path) -> list[Path]:
    return sorted((project / ".git" / "sggit" / "log").glob("*.log"))


@pytest.mark.parametrize(
    "args",
    [
        ("register", "bridge_create", "genome/bridge_create/seed.py"),
        ("sync",),
        ("rollback", "--phenotype", "dell_r740"),
    ],
)
def test_a_read_only_git_is_named_not_a_traceback(project: Path, args: tuple[str, ...]) -> None:
    reason = _read_only_mounts()
    if reason:
        pytest.skip(reason)
    (project / "extra.py").write_text("import json\n\ndef execute(input_json):\n    return json.dumps({})\n")
    if args[0] == "register":
        args = ("register", "bridge_create", "extra.py")
    if args[0] == "sync":
        sggit(project, "run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}')
    clean(read_only_git(project, *args), 1, f"{project / '.git'}", "Read-only file system", "hint: ")
    status = read_only_git(project, "status")
    assert status.returncode == 0 and "phenotype dell_r740" in status.stdout


def test_run_on_a_read_only_git_says_which_file(project: Path) -> None:
    reason = _read_only_mounts()
    if reason:
        pytest.skip(reason)
    result = read_only_git(project, "run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}')
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr
    assert "Read-only file system" in result.stderr and str(project / ".git") in result.stderr


@pytest.mark.parametrize("args", [("sync",), ("register", "bridge_create", "extra.py")])
def test_read_only_objects_are_the_environment_not_a_bug(project: Path, args: tuple[str, ...]) -> None:
    """Only the object store read-only: libgit2 says so in a bare OSError, which is exit 1, not a crash."""
    reason = _read_only_mounts()
    if reason:
        pytest.skip(reason)
    (project / "extra.py").write_text("import json\n\ndef execute(input_json):\n    return json.dumps({})\n")
    sggit(project, "run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}')
    result = with_mounts(project, "mount --bind .git/objects .git/objects && mount -o remount,ro,bind .git/objects", *args)
    clean(result, 1, f"sggit: error: {project / '.git' / 'objects'}: Read-only file system",
          "hint: run sggit where the repository is writable (not a read-only mount)")
    assert "unexpected error" not in result.stderr and _crash_logs(project) == []


def test_a_full_disk_is_the_environment_not_a_bug(project: Path) -> None:
    reason = _read_only_mounts()
    if reason:
        pytest.skip(reason)
    state = project / ".git" / "sggit"
    fill = "mount -t tmpfs -o size=16k tmpfs .git/sggit && { dd if=/dev/zero of=.git/sggit/fill bs=1k count=64 2>/dev/null; true; }"
    result = with_mounts(project, fill, "run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}')
    clean(result, 1, f"sggit: error: {state}: No space left on device", "hint: free space on that filesystem")
    assert "unexpected error" not in result.stderr


class BrokenKind(KernelKind):
    """A kernel kind with a bug: what an orchestrator-side failure looks like to the user."""

    name = "broken"
    clock = "virtual"

    @contextmanager
    def open(self, target: KernelTarget) -> Iterator[Any]:
        raise RuntimeError("kernel plugin bug: lost its socket")
        yield

    def fresh(self, target: KernelTarget) -> KernelFactory:
        raise RuntimeError("unused")

    def features(self, kernel: Any | None = None) -> dict[str, tuple[bool, str]]:
        return {}


def test_a_bug_exits_3_with_the_traceback_in_the_repository_log(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(kinds.KINDS, "broken", BrokenKind)
    result = sg_in(project, "run", "bridge_create", "--phenotype", "dell_r740", "--kernel", "broken", code=3)
    assert "sggit: unexpected error: RuntimeError: kernel plugin bug: lost its socket" in result.stderr
    logs = list((project / ".git" / "sggit" / "log").glob("*.log"))
    assert len(logs) == 1 and str(logs[0]) in result.stderr
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text and "lost its socket" in text and "def open" not in result.stderr


def test_outside_a_repository_the_log_goes_to_the_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    try:
        raise KeyError("boom")
    except KeyError as exc:
        path = log_traceback(exc)
    assert path.parent == tmp_path / "tmp" / "sggit-log"
    assert "KeyError: 'boom'" in path.read_text()


def test_user_errors_keep_their_exit_codes(project: Path) -> None:
    clean(sggit(project, "run", "no_such_locus", "--phenotype", "dell_r740", code=None), 2, "sggit: error:")


@pytest.mark.parametrize("args, said, where", [
    (("run", "bridge_create", "--timeout", "nan"), "Invalid value for '--timeout': 'nan' is not a positive, finite number of seconds", "sggit run"),
    (("register", "--as", "dominat", "bridge_create"), "Invalid value for '--as': 'dominat' is not one of 'recessive', 'dominant'.", "sggit register"),
    (("run", "--phenotyp", "dell_r740"), "No such option '--phenotyp'. (Did you mean", "sggit run"),
    (("frobnicate",), "No such command 'frobnicate'.", "sggit"),
    (("kernel", "mock-reset", "--bogus"), "No such option '--bogus'.", "sggit kernel mock-reset"),
    (("check", "--format"), "Option '--format' requires an argument.", "sggit check"),
    (("kernel", "call", "--netns"), "Option '--netns' requires an argument.", "sggit kernel call"),
    (("ci", "check", "--base"), "Option '--base' requires an argument.", "sggit ci check"),
    (("kernel", "frobnicate"), "No such command 'frobnicate'.", "sggit kernel"),
])
def test_a_bad_option_is_worded_as_every_other_mistake(project: Path, args: tuple[str, ...], said: str, where: str) -> None:
    """`sggit: error: ...` and a hint, exit 2, where click would print its usage block."""
    done = sggit(project, *args, code=2)
    assert done.stderr.startswith(f"sggit: error: {said}"), done.stderr
    assert done.stderr.rstrip().endswith(f"hint: see `{where} --help`") and "Usage:" not in done.stderr
    assert done.stdout == ""


def test_sggit_alone_still_prints_its_help(project: Path) -> None:
    done = sggit(project, code=None)
    assert "Usage: sggit [OPTIONS] COMMAND" in done.stdout + done.stderr and "sggit: error:" not in done.stderr
