"""Kernel kinds are a table: a kind registered from here is usable by `sggit run --kernel`.

Nothing in sggit is edited for the kind below: it is one class and one
`register()` line, which is the whole recipe for adding a kernel kind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest

from sggit.kernel import kinds
from sggit.kernel.kinds import KernelFactory, KernelKind, KernelTarget
from sggit.kernel.kinds.mock import MockKind
from sggit.kernel.mock import MockKernel, default_description
from tests.helpers import sg_in


class ScratchKernel(MockKernel):
    """A simulated host that lives for one command only."""

    kernel_kind = "scratch"


class ScratchKind(KernelKind):
    name = "scratch"
    clock = "virtual"
    opened: ClassVar[list[KernelTarget]] = []

    @contextmanager
    def open(self, target: KernelTarget) -> Iterator[Any]:
        self.opened.append(target)
        yield ScratchKernel(target.host())

    def fresh(self, target: KernelTarget) -> KernelFactory:
        description = target.host()
        return lambda: ScratchKernel(description)

    def features(self, kernel: Any | None = None) -> dict[str, tuple[bool, str]]:
        return {"bridge": (True, "scratch"), "bond": (False, "not in scratch hosts"), "vlan": (True, "scratch")}

    def resource_kinds(self) -> tuple[str, ...]:
        return ("bridge", "bond")


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> type[ScratchKind]:
    monkeypatch.setitem(kinds.KINDS, "scratch", ScratchKind)
    ScratchKind.opened = []
    return ScratchKind


def test_a_kind_registered_by_a_test_runs_the_shipped_genome(project: Path, scratch: type[ScratchKind]) -> None:
    args = ("run", "bridge_create", "--phenotype", "dell_r740", "--kernel", "scratch",
            "--input", '{"bridge_name": "br0", "interfaces": ["eno1"]}')
    first = sg_in(project, *args)
    assert json.loads(first.stdout)["output"]["resources_created"] == ["br0"]
    # a scratch host starts over each time, where the persistent mock would say "already exists"
    sg_in(project, *args)
    assert [t.phenotype for t in scratch.opened] == ["dell_r740", "dell_r740"]
    assert "eno1" in json.dumps(dict(scratch.opened[0].bindings))
    assert not list((project / ".git" / "sggit").glob("mock-*.json"))


def test_the_planner_asks_the_kind_what_it_supports(project: Path, scratch: type[ScratchKind]) -> None:
    result = sg_in(project, "plan", "production_server", "--phenotype", "dell_r740", "--kernel", "scratch", "--format", "json")
    changes = {c["invocation"]["kind"]: c for c in json.loads(result.stdout)["changes"]}
    assert changes["bridge"]["action"] == "create"
    assert changes["bond"]["action"] == "unsupported" and "bond links (not in scratch hosts)" in changes["bond"]["reason"]
    assert changes["vlan_bridges"]["action"] == "unsupported"
    assert changes["vlan_bridges"]["reason"] == "the scratch kernel offers no vlan_bridges resources"


@pytest.mark.parametrize("command", [["run"], ["watch"], ["verify"], ["plan"], ["deploy"]])
def test_kernel_help_lists_the_registry(project: Path, scratch: type[ScratchKind], command: list[str]) -> None:
    result = sg_in(project, *command, "--help")
    assert "[mock|netlink|data-sqlite|data-mock|scratch]" in result.stdout


def test_an_unregistered_kind_is_refused(project: Path) -> None:
    result = sg_in(project, "run", "bridge_create", "--kernel", "scratch", code=2)
    assert "'scratch' is not one of 'mock', 'netlink'" in result.stderr


def test_a_kernel_knows_its_kind() -> None:
    mock = MockKernel(default_description())
    kind = kinds.kind_of(mock)
    assert isinstance(kind, MockKind) and kind.clock == "virtual"
    assert kinds.get("netlink").clock == "wall"
    before = kind.now(mock)
    kind.advance(mock, 7200.5)
    assert kind.now(mock) == before + 7200.5
    copy = kind.shadow(mock, KernelTarget(phenotype="p", state_dir=Path("/nonexistent")))()
    assert copy is not mock and copy.to_json() == mock.to_json()
