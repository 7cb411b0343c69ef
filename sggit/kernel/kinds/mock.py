"""The mock kind: a simulated host on a virtual clock, kept between runs in the genome's state directory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sggit.kernel.kinds import KernelFactory, KernelKind, KernelTarget

MOCK_FEATURES = ("bridge", "bond", "vlan")


def state_path(target: KernelTarget) -> Path:
    return target.state_dir / f"mock-{target.phenotype}.json"


class MockKind(KernelKind):
    name = "mock"
    clock = "virtual"
    summary = "simulated host (virtual clock), kept in .git/sggit/mock-<phenotype>.json"

    @contextmanager
    def open(self, target: KernelTarget) -> Iterator[Any]:
        from sggit.kernel.session import ensure_mock_state, mock_session

        path = state_path(target)
        if not path.exists():  # the host is described (and the phenotype read) only when it is first made
            ensure_mock_state(path, target.host())
        with mock_session(path) as kernel:
            yield kernel

    def reset(self, target: KernelTarget) -> Path:
        """Put the phenotype's simulated host back as it boots."""
        from sggit.kernel.session import create_mock_state

        path = state_path(target)
        create_mock_state(path, target.host(), force=True)
        return path

    def fresh(self, target: KernelTarget) -> KernelFactory:
        from sggit.kernel.mock import MockKernel

        description = target.host()
        return lambda: MockKernel(description)

    def shadow(self, live: Any, target: KernelTarget) -> KernelFactory:
        from sggit.kernel.mock import MockKernel

        snapshot = live.state.model_dump_json()
        return lambda: MockKernel.from_json(snapshot)

    def features(self, kernel: Any | None = None) -> dict[str, tuple[bool, str]]:
        enabled = kernel.state.features if kernel is not None else {}
        return {f: (enabled.get(f, True), "simulated" if enabled.get(f, True) else "disabled in this mock host") for f in MOCK_FEATURES}
