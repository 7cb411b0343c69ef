"""Static screening of candidate sources before they can become alleles.

An engine's output is untrusted text. Anything that does not parse, lacks the
entry point, imports outside the allowlist, or merely repeats an allele the locus
already has is turned away here, before registration, and written to a JSONL log
so a failed mutation is still a recorded event rather than a silent loss.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from sggit.engines.base import Engine, MutationContext, Proposal
from sggit.genes import DEFAULT_ALLOWLIST, source_problems

REJECTED_LOG = "rejected.jsonl"


def source_digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


class RejectedProposal(BaseModel):
    """One candidate that never reached the genome, and why."""

    at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    engine: str
    locus: str
    parent: str | None = None
    signature: str
    reasons: list[str]
    source: str | None = None
    model: str | None = None
    prompt_hash: str | None = None
    note: str | None = None


class RejectionLog:
    """Append-only JSONL under a state directory; one line per rejected candidate.

    Each record is a single O_APPEND write under an exclusive lock, so two
    processes logging at once never interleave or lose a line; a line torn by a
    crash is closed off before the next record, so it costs only itself.
    """

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / REJECTED_LOG

    def record(self, rejected: RejectedProposal) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (rejected.model_dump_json() + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> list[RejectedProposal]:
        """Every intact record; a torn last line (a crash mid-write) is skipped, not fatal."""
        if not self.path.exists():
            return []
        records: list[RejectedProposal] = []
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            if not raw.strip():
                continue
            try:
                records.append(RejectedProposal.model_validate(json.loads(raw)))
            except (ValueError, TypeError):
                continue
        return records


def screen(
    proposals: list[Proposal],
    context: MutationContext,
    *,
    log: RejectionLog | None = None,
    allowlist: tuple[str, ...] | frozenset[str] = DEFAULT_ALLOWLIST,
) -> list[Proposal]:
    """The proposals that may be registered, in order; the rest are logged as failed."""
    known = {source_digest(s) for s in context.siblings.values()}
    if context.parent_source is not None:
        known.add(source_digest(context.parent_source))
    accepted: list[Proposal] = []
    seen: set[str] = set()
    for proposal in proposals:
        reasons = [str(p) for p in source_problems(proposal.source, allowlist)]
        digest = source_digest(proposal.source)
        if not reasons and digest in known:
            reasons.append("identical to an allele the locus already has")
        if not reasons and digest in seen:
            reasons.append("identical to another candidate in the same proposal")
        if reasons:
            if log is not None:
                log.record(rejection(proposal, context, reasons))
            continue
        seen.add(digest)
        accepted.append(proposal)
    return accepted


def rejection(proposal: Proposal | None, context: MutationContext, reasons: list[str], **extra: str | None) -> RejectedProposal:
    """A log record for a candidate (or for an answer that held no candidate at all)."""
    fields: dict[str, str | None] = {}
    if proposal is not None:
        fields = {
            "engine": proposal.engine,
            "source": proposal.source,
            "model": proposal.model,
            "prompt_hash": proposal.prompt_hash,
            "note": proposal.note,
        }
    fields.update(extra)
    return RejectedProposal(
        locus=context.contract.locus,
        parent=context.parent,
        signature=context.signature(),
        reasons=reasons,
        **fields,  # type: ignore[arg-type]
    )


class ScreenedEngine(Engine):
    """Puts any engine behind the static screen, so no caller sees an unscreened candidate."""

    def __init__(
        self,
        inner: Engine,
        state_dir: str | Path,
        *,
        allowlist: tuple[str, ...] | frozenset[str] = DEFAULT_ALLOWLIST,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.log = RejectionLog(state_dir)
        self.allowlist = allowlist

    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        return screen(self.inner.propose(context, count), context, log=self.log, allowlist=self.allowlist)[:count]
