"""Settings of the sandbox: limits, timeout, import allowlist, scratch root."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sggit.genes import DEFAULT_ALLOWLIST, ENTRY_POINT

__all__ = ["DEFAULT_ALLOWLIST", "ENTRY_POINT", "MECHANISMS", "SandboxConfig"]

# The worker must be able to refuse to run where these did not take hold.
MECHANISMS: tuple[str, ...] = (
    "no_new_privs", "netns", "mountns", "pidns", "ipcns", "rlimits", "landlock", "uid", "seccomp", "relay",
)

MechanismName = Literal["netns", "mountns", "pidns", "ipcns", "private_root", "rlimits", "landlock", "uid", "seccomp"]

MiB = 1 << 20


class SandboxConfig(BaseModel):
    """How tightly a gene is held. Every limit applies per worker process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_seconds: float = Field(5.0, gt=0, description="wall-clock deadline per invocation, kernel calls included")
    cpu_seconds_per_call: int = Field(5, gt=0, description="RLIMIT_CPU soft limit armed before each call")
    worker_cpu_seconds: int = Field(300, gt=0, description="RLIMIT_CPU hard limit over a worker's life")
    memory_bytes: int = Field(1024 * MiB, ge=64 * MiB, description="RLIMIT_AS")
    max_open_files: int = Field(64, ge=16, description="RLIMIT_NOFILE")
    max_file_bytes: int = Field(16 * MiB, gt=0, description="RLIMIT_FSIZE")
    max_processes: int = Field(256, gt=0, description="RLIMIT_NPROC, counted per uid")
    scratch_bytes: int = Field(64 * MiB, gt=0, description="size of the scratch tmpfs")
    max_output_bytes: int = Field(1 * MiB, gt=0, description="largest JSON output accepted")
    max_stdout_bytes: int = Field(1 * MiB, ge=0, description="what a gene may print before it fails")
    max_calls_per_worker: int = Field(10_000, gt=0, description="recycle a worker after this many calls")
    warm_workers: int = Field(8, ge=1, description="idle workers kept bound to their allele, least recently used evicted")
    startup_timeout_seconds: float = Field(15.0, gt=0)
    answer_spin_seconds: float = Field(
        200e-6, ge=0, le=0.01,
        description="how long the orchestrator polls for an answer before it sleeps, while CPUs are free; 0 never")
    colocate_calls: bool = Field(
        False, description="let a call that is the pool's only one run on the caller's CPU with its worker's processes, while that has been the faster way")
    allowlist: tuple[str, ...] = DEFAULT_ALLOWLIST
    scratch_root: Path | None = Field(None, description="where worker scratch directories go; a temp dir if unset")
    uid: int = Field(65534, gt=0, description="unprivileged uid a root worker switches to")
    gid: int = Field(65534, gt=0)
    allow_degraded: bool = Field(False, description="run even where a confinement mechanism is missing")
    disable: tuple[MechanismName, ...] = Field((), description="mechanisms not to apply; the pool then refuses unless allow_degraded")

    @field_validator("allowlist")
    @classmethod
    def _module_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not all(part.isidentifier() for part in name.split(".")):
                raise ValueError(f"{name!r} is not a module name")
        return value

    def rlimits(self) -> dict[str, int]:
        return {
            "RLIMIT_CPU": self.worker_cpu_seconds,
            "RLIMIT_AS": self.memory_bytes,
            "RLIMIT_NOFILE": self.max_open_files,
            "RLIMIT_FSIZE": self.max_file_bytes,
            "RLIMIT_NPROC": self.max_processes,
            "RLIMIT_CORE": 0,
        }
