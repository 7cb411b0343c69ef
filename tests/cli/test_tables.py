"""Commands, doctor providers, engines, kernel kinds and domains are each one name-to-factory table."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from sggit import doctor, domains
from sggit.cli.commands import COMMANDS
from sggit.engines.registry import ENGINE_NAMES, ENGINES
from sggit.kernel import kinds
from tests.helpers import sg


def test_every_command_in_the_table_is_the_command_of_that_name() -> None:
    for name, where in COMMANDS.items():
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(f"sggit.cli.commands.{module}"), attribute)
        assert isinstance(command, click.Command) and command.name == name
    listed = sg("--help", code=None).stdout
    assert all(f"  {name} " in listed for name in COMMANDS)


HEAVY = ("sggit.runtime", "sggit.genome", "sggit.contract", "pygit2", "pydantic", "jinja2", "lark")


def _imported_by(*args: str) -> set[str]:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['sggit', *{list(args)!r}]\n"
        "try:\n    runpy.run_module('sggit', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    return set(result.stderr.split())


def test_version_imports_nothing_heavy() -> None:
    loaded = _imported_by("--version")
    assert "sggit.cli" in loaded
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_status_imports_only_the_genome_and_a_repeat_nothing_heavy(tmp_path: Path) -> None:
    from sggit.genome.init import init_project

    init_project(tmp_path)
    loaded = _imported_by("-C", str(tmp_path), "status")
    assert "sggit.genome.views" in loaded
    assert not {m for m in loaded if m.startswith(("sggit.runtime", "sggit.contract", "sggit.engines", "jinja2", "lark"))}
    repeated = subprocess.run([sys.executable, "-c", "import runpy, sys\nsys.argv = ['sggit', 'status']\ntry:\n"
                               "    runpy.run_module('sggit', run_name='__main__')\nexcept SystemExit:\n    pass\n"
                               "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)"],
                              cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "sggit.cli.fast_status" in repeated.stderr.split()
    assert not {m for m in repeated.stderr.split() if m.startswith((*HEAVY, "click"))}


def test_doctor_names_only_providers_that_exist() -> None:
    for module in doctor.PROVIDERS.values():
        assert callable(importlib.import_module(module).CHECKS[0])
    checks = doctor.run_checks({"x": "sggit.kernel.no_such_checks"})
    assert [(c.name, c.ok) for c in checks] == [("sggit.kernel.no_such_checks", False)]
    assert "provider missing" in checks[0].detail


def test_engine_names_are_the_table_plus_auto() -> None:
    assert ENGINE_NAMES == ("auto", *ENGINES)
    assert set(ENGINES) == {"anthropic", "gp", "fixture", "none"}


def test_kernel_kinds_table() -> None:
    assert kinds.names()[:2] == ["mock", "netlink"]
    assert all(kinds.get(name).name == name for name in kinds.names())


@pytest.fixture
def plugin_domains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two installed distributions declaring `sggit.domains` entry points: one works, one is broken."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "toy_domain.py").write_text(
        "import dataclasses\nfrom sggit import domains\n\n"
        "def domain():\n"
        "    return dataclasses.replace(domains.get('network'), name='toy', description='a toy domain',"
        " origin='plugin toy-domain', kernel_kinds=('toy-mock',), resource_kinds={})\n"
    )
    for dist, value in (("toy_domain", "toy = toy_domain:domain"), ("broken_domain", "broken = no_such_module:domain")):
        info = site / f"{dist}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist.replace('_', '-')}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[sggit.domains]\n{value}\n")
    monkeypatch.syspath_prepend(str(site))
    domains._entry_point_factories.cache_clear()
    yield
    domains._entry_point_factories.cache_clear()


def test_doctor_and_kernel_features_list_installed_domains(plugin_domains: None) -> None:
    assert [d.name for d in domains.installed()] == ["network", "data", "toy"]
    result = sg("doctor", "--format", "json", code=None)
    found = {c["name"]: c for c in json.loads(result.stdout)}
    assert found["domain.network"]["ok"] and found["domain.toy"]["ok"]
    assert "plugin toy-domain" in found["domain.toy"]["detail"] and "toy-mock" in found["domain.toy"]["detail"]
    assert found["domain.broken"]["ok"] is False
    assert "no_such_module" in found["domain.broken"]["detail"]
    text = sg("kernel", "features", code=None).stdout
    assert re.search(r"^MISSING  domain.broken +", text, re.M) and re.search(r"^ok       domain.toy +", text, re.M)
