"""`sggit doctor`: providers are pluggable, failures are findings, the sandbox reports truthfully."""

from __future__ import annotations

import json
import textwrap

from click.testing import CliRunner

from sggit.cli import cli
from sggit.doctor import run_checks

from .helpers import needs_landlock, needs_root


def test_providers_may_return_objects_tuples_or_lists_and_failures_are_reported(tmp_path, monkeypatch):
    (tmp_path / "fake_checks.py").write_text(textwrap.dedent("""
        from types import SimpleNamespace

        def bridges():
            return SimpleNamespace(name="kernel.bridge", ok=True, detail="bridge module loaded")

        def links():
            return [("kernel.vlan", False, "8021q missing"), ("kernel.veth", True, "veth works")]

        def broken():
            raise OSError("netlink socket refused")

        CHECKS = [bridges, links, broken]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    checks = run_checks(("fake_checks", "sggit.no_such_area.checks"))
    assert [(c.name, c.ok) for c in checks] == [
        ("kernel.bridge", True), ("kernel.vlan", False), ("kernel.veth", True), ("fake_checks.broken", False),
        ("sggit.no_such_area.checks", False)]
    assert checks[3].detail == "check failed: OSError: netlink socket refused"
    assert checks[4].detail.startswith("provider missing: No module named 'sggit.no_such_area'")


def test_a_provider_that_cannot_load_is_a_finding(tmp_path, monkeypatch):
    (tmp_path / "bad_checks.py").write_text("raise ImportError('pyroute2 too old')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    [check] = run_checks(("bad_checks",))
    assert (check.ok, check.detail) == (False, "cannot load checks: pyroute2 too old")


@needs_root
@needs_landlock
def test_doctor_reports_every_sandbox_mechanism_from_a_real_worker():
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    checks = {c["name"]: c for c in json.loads(result.output)}
    sandbox = {name: c["ok"] for name, c in checks.items()
               if name.startswith(("sandbox.", "namespace.")) and name != "namespace.user"}
    assert sandbox == {name: True for name in (
        "sandbox.architecture", "sandbox.worker", "sandbox.no_new_privs", "namespace.network",
        "namespace.mount", "namespace.pid", "namespace.ipc", "sandbox.private_root", "sandbox.scratch_tmpfs", "sandbox.rlimits", "sandbox.landlock",
        "sandbox.unprivileged_uid", "sandbox.seccomp", "sandbox.relay")}
    assert "ABI" in checks["sandbox.landlock"]["detail"]
    assert checks["namespace.user"]["ok"] is True  # root may always make one
    assert result.exit_code == (0 if all(c["ok"] or c["optional"] for c in checks.values()) else 1)


def test_doctor_text_output_marks_missing_items_and_exits_1(tmp_path, monkeypatch):
    import sggit.doctor as doctor

    (tmp_path / "gap_checks.py").write_text("CHECKS = [lambda: ('kernel.bond', False, 'bonding module absent')]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(doctor, "PROVIDERS", ("gap_checks",))
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert "MISSING  kernel.bond  bonding module absent" in result.output
    assert "0 ok, 1 missing" in result.output


def test_doctor_exits_0_when_only_optional_link_types_are_absent(tmp_path, monkeypatch):
    import sggit.doctor as doctor

    (tmp_path / "optional_checks.py").write_text(
        "from sggit.kernel.features import Check\n"
        "CHECKS = [lambda: [Check('kernel.bond', False, 'link type not supported by this kernel', optional=True),"
        " Check('kernel.netlink', True, 'rtnetlink answers')]]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(doctor, "PROVIDERS", ("optional_checks",))
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "absent   kernel.bond     link type not supported by this kernel (optional)" in result.output
    assert "1 ok, 0 missing, 1 optional not available" in result.output


def test_doctor_speaks_the_common_format_option() -> None:
    import json as _json

    result = CliRunner().invoke(cli, ["doctor", "--format", "json"])
    names = {c["name"] for c in _json.loads(result.output)}
    assert "sandbox.seccomp" in names and "kernel.bridge" in names
