"""A shared warm pool for the sandbox tests; escape tests check it stays healthy."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sggit.runtime.sandbox import WorkerPool

from .helpers import FAST, landlock_available


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    if os.geteuid() != 0 or not landlock_available():
        pytest.skip("full confinement needs root and Landlock")
    with WorkerPool(FAST, size=2) as shared:
        yield shared


