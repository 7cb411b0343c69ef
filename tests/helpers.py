"""The two ways tests run the sggit command: in this process, and in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner, Result

from sggit.cli import cli


def sg(*args: str, code: int | None = 0, env: Mapping[str, str] | None = None) -> Result:
    """A command as the user types it, run in this process: it must exit with `code` (None: any), never crash and never print a traceback."""
    result = CliRunner().invoke(cli, list(args), env=env)
    if code is not None:
        assert result.exit_code == code, result.output + repr(result.exception)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed and "Traceback" not in result.output, result.output + repr(result.exception)
    return result


def sg_in(project: Path, *args: str, code: int | None = 0, env: Mapping[str, str] | None = None) -> Result:
    """`sggit -C PROJECT ARGS`, so the test need not change directory."""
    return sg("-C", str(project), *args, code=code, env=env)


def sggit(cwd: Path, *args: str, code: int | None = 0, host: str = "testhost",
          env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`sggit ARGS` in a fresh interpreter, as a shell runs it: nothing imported or cached here carries over.

    `env` replaces this process's environment (SGGIT_HOST is still set to `host`); the command must exit
    with `code` (None: any) and never print a traceback.
    """
    environ = {**(os.environ if env is None else env), "SGGIT_HOST": host}
    done = subprocess.run([sys.executable, "-m", "sggit", *args], cwd=cwd, capture_output=True, text=True, env=environ)
    if code is not None:
        assert done.returncode == code, f"sggit {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def descriptors_into(directory: Path) -> int:
    """How many of this process's open descriptors lead to files under `directory`."""
    prefix = str(directory.resolve()) + os.sep
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(prefix)
        except OSError:
            continue
    return count
