"""The data-mock kind: an in-memory database with the live one's schema and a sample of its rows.

It is the data domain's shadow and mock: a run on it starts from a bounded copy
of the phenotype's database (or the shipped fixture table when there is no file
yet) on a virtual clock, and nothing it does reaches the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sggit.kernel.kinds import SLEEP_LIMIT, KernelFactory, KernelKind, KernelTarget


class DataMockKind(KernelKind):
    name = "data-mock"
    clock = "virtual"
    domain = "data"
    summary = "in-memory copy of the phenotype's database (same schema, a sample of rows), virtual clock"

    def _copy(self, target: KernelTarget) -> Any:
        from sggit.domains.data import SAMPLE_ROWS, fixture_fetcher, host
        from sggit.domains.data.kernel import SqlKernel
        from sggit.kernel.kinds.data_sqlite import database_path

        if host(target.bindings).connection is not None:
            path = database_path(target)
            if path.is_file():
                live = SqlKernel.open_sqlite(str(path))
                try:
                    return live.sample_copy(SAMPLE_ROWS, fetch=fixture_fetcher(host(target.bindings).allow_hosts))
                finally:
                    live.close(keep=False)
        return self.fresh(target)()

    @contextmanager
    def open(self, target: KernelTarget) -> Iterator[Any]:
        kernel = self._copy(target)
        try:
            yield kernel
        finally:
            kernel.close(keep=False)

    def fresh(self, target: KernelTarget) -> KernelFactory:
        from sggit.domains.data import fixture_fetcher, host, seed_fixture
        from sggit.domains.data.kernel import MemoryDataKernel

        fetch = fixture_fetcher(host(target.bindings).allow_hosts)

        def make() -> Any:
            kernel = MemoryDataKernel(fetch=fetch)
            seed_fixture(kernel)
            return kernel

        return make

    def shadow(self, live: Any, target: KernelTarget) -> KernelFactory:
        from sggit.domains.data import SAMPLE_ROWS

        return lambda: live.sample_copy(SAMPLE_ROWS)

    def skip(self, kernel: Any, steps: int) -> None:
        """The virtual clock moves at once."""
        kernel.pass_time(steps * SLEEP_LIMIT)

    def features(self, kernel: Any | None = None) -> dict[str, tuple[bool, str]]:
        return {"sqlite": (True, "in memory"), "savepoint": (True, "each write is savepointed")}
