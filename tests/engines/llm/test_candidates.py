from __future__ import annotations

from sggit.engines.base import ContractBrief, Engine, MutationContext, Proposal
from sggit.engines.candidates import RejectionLog, ScreenedEngine, screen

from .conftest import GOOD, PARENT

CTX = MutationContext(
    contract=ContractBrief(locus="bridge_create"),
    parent="p" * 64,
    parent_source=PARENT,
    error="boom",
    siblings={"s" * 64: GOOD.replace("True", "False")},
)


def _p(source: str) -> Proposal:
    return Proposal(source=source, engine="test")


def test_screen_keeps_good_candidates_and_logs_each_bad_one(tmp_path):
    log = RejectionLog(tmp_path)
    bad = {
        "def execute(:\n": "syntax error",
        "def run(x):\n    return x\n": "no top-level function `execute",
        "import os\ndef execute(x):\n    return x\n": "import of os is outside the allowlist",
        "from . import x\ndef execute(x):\n    return x\n": "relative imports",
        "def execute(a, b):\n    return a\n": "exactly one argument",
        PARENT: "identical to an allele the locus already has",
        GOOD.replace("True", "False"): "identical to an allele the locus already has",
    }
    proposals = [_p(GOOD)] + [_p(s) for s in bad] + [_p(GOOD)]
    assert [p.source for p in screen(proposals, CTX, log=log)] == [GOOD]
    records = log.read()
    assert len(records) == len(bad) + 1
    for record, expected in zip(records, [*bad.values(), "identical to another candidate"], strict=True):
        assert any(expected in reason for reason in record.reasons), (expected, record.reasons)
        assert record.locus == "bridge_create" and record.parent == "p" * 64
        assert record.signature == CTX.signature()


def test_allowlist_is_the_callers_choice(tmp_path):
    source = "import os\n\ndef execute(x):\n    return x\n"
    assert screen([_p(source)], CTX, allowlist=("os",)) == [_p(source)]
    assert screen([_p(source)], CTX) == []


def test_log_survives_a_torn_last_line(tmp_path):
    log = RejectionLog(tmp_path)
    screen([_p("def run(x): pass\n")], CTX, log=log)
    with log.path.open("a") as handle:
        handle.write('{"engine": "test", "locus": "bridge_cr')
    screen([_p("def go(x): pass\n")], CTX, log=log)
    assert [r.source for r in log.read()] == ["def run(x): pass\n", "def go(x): pass\n"]


class _Scripted(Engine):
    name = "scripted"

    def __init__(self, sources: list[str]) -> None:
        self.sources = sources
        self.asked: list[int] = []

    def propose(self, context: MutationContext, count: int = 1) -> list[Proposal]:
        self.asked.append(count)
        return [_p(s) for s in self.sources]


def test_screened_engine_filters_and_caps_what_the_inner_engine_returns(tmp_path):
    other = GOOD.replace("True", "bool(data)")
    third = GOOD.replace("True", "len(data) > 0")
    inner = _Scripted(["def nope(:\n", GOOD, other, third])
    engine = ScreenedEngine(inner, tmp_path)
    assert engine.name == "scripted"
    assert [p.source for p in engine.propose(CTX, count=2)] == [GOOD, other]
    assert inner.asked == [2]
    assert len(RejectionLog(tmp_path).read()) == 1
