"""Prepared alleles served as if an engine had written them: deterministic mutation for tests and the demo.

Sources live at `<fixture_dir>/<locus>/*.py` and are offered in file-name order.
The engine remembers (in the state directory) which sources it has already
offered for each locus, by content, so a run that asks again gets the next ones
and an edited file counts as new.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from sggit.engines.base import Engine, MutationContext, Proposal
from sggit.engines.candidates import RejectionLog, screen, source_digest
from sggit.engines.llm.state import load, locked, save
from sggit.errors import UsageError
from sggit.genes import DEFAULT_ALLOWLIST


class FixtureState(BaseModel):
    proposed: dict[str, list[str]] = Field(default_factory=dict)


class FixtureEngine(Engine):
    name = "fixture"

    def __init__(
        self,
        fixture_dir: str | Path,
        *,
        state_dir: str | Path,
        allowlist: tuple[str, ...] | frozenset[str] = DEFAULT_ALLOWLIST,
    ) -> None:
        self.fixture_dir = Path(fixture_dir)
        if not self.fixture_dir.is_dir():
            raise UsageError(
                f"fixture directory {self.fixture_dir} does not exist",
                hint="it should hold <locus>/*.py files",
            )
        self.state_path = Path(state_dir) / "fixture" / "proposed.json"
        self.rejections = RejectionLog(state_dir)
        self.allowlist = allowlist

    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        locus = context.contract.locus
        files = sorted((self.fixture_dir / locus).glob("*.py")) if locus else []
        with locked(self.state_path):
            state = load(self.state_path, FixtureState)
            done = set(state.proposed.get(locus, []))
            offered: list[Proposal] = []
            for path in files:
                if len(offered) >= count:
                    break
                source = path.read_text(encoding="utf-8")
                digest = source_digest(source)
                if digest in done:
                    continue
                done.add(digest)
                state.proposed.setdefault(locus, []).append(digest)
                offered.append(Proposal(source=source, engine=self.name, note=path.name))
            if offered:
                save(self.state_path, state)
        return screen(offered, context, log=self.rejections, allowlist=self.allowlist)
