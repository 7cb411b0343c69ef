from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sggit.genome.repo import Genome
from sggit.runtime.sandbox import SandboxConfig, WorkerPool


@pytest.fixture(autouse=True)
def _host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "testhost")


@pytest.fixture
def genome(project: Path) -> Genome:
    return Genome.open(project)


@pytest.fixture(scope="session")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(SandboxConfig(), size=2) as p:
        yield p


@pytest.fixture
def here(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project as the working directory of CLI tests, with no API key to reach for."""
    monkeypatch.chdir(project)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return project
