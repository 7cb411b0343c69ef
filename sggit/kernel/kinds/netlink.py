"""The netlink kind: the real kernel through rtnetlink, on the host or in a named namespace."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sggit.kernel.kinds import KernelFactory, KernelKind, KernelTarget
from sggit.kernel.kinds import get as get_kind


class NetlinkKind(KernelKind):
    name = "netlink"
    clock = "wall"
    summary = "the real kernel through rtnetlink (--netns NAME for a namespace)"

    def open(self, target: KernelTarget) -> AbstractContextManager[Any]:
        from sggit.kernel.session import open_kernel

        return open_kernel(netns=target.netns)

    def fresh(self, target: KernelTarget) -> KernelFactory:
        """A real host cannot be copied: replay runs on the phenotype's simulated hardware."""
        return get_kind("mock").fresh(target)

    def shadow(self, live: Any, target: KernelTarget) -> KernelFactory:
        """The live host's topology replicated on a mock host: replay never touches the real kernel."""
        from sggit.kernel.kinds.mock import replica_factory

        return replica_factory(live, target)

    def features(self, kernel: Any | None = None) -> dict[str, tuple[bool, str]]:
        from sggit.kernel.features import probe_features

        return probe_features(getattr(kernel, "netns", None))
