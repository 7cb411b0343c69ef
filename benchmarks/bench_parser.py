"""What reading `.sg` contracts costs, per contract, against loading the same AST from JSON.

Two workloads: the shipped network genome (`contracts/`), and a generated tree of
1,000 gene and pathway contracts of the same size and shape as the shipped ones
(written to a temporary directory and checked with `load_tree` first, so that every
generated contract is one `sggit check` accepts).

The baseline is `Document.model_validate_json` on a JSON dump of the very AST the
parser produced for the same contracts. Both sides end with identical pydantic
documents, so the ratio is the price of the human-readable syntax alone (lexing,
indentation, the LALR parse and the tree transform) over a machine format carrying
the same information through the same models. A plain `json.loads` would leave out
model building and flatter the baseline; a `str.splitlines` pass would measure
reading bytes, which neither side spends its time on. Texts are read from disk
before timing, on both sides, so file system caches do not blur the ratio.

Each parse benchmark records `per_contract_ms`, `baseline_per_contract_ms` and
`ratio` in `extra_info` and prints one line. The baseline is measured in the same
test, right after the parse, the same way: same rounds, the minimum round (the one
least disturbed by the rest of the machine), and the garbage collector off. Both
sides allocate many small objects, and with the collector on its passes over every
AST already built dominate the baseline as the tree grows (the ratio fell from
about 20x on the shipped genome to 6x on 1,000 contracts), which measures the heap,
not the syntax.

Loading the parser: `test_parser_load_from_cache` times `load_parser` reading the
serialised LALR parser from the cache directory against building it from
`grammar.lark` (`lark.Lark(...)`, what every command did at import before), both in
this process, best of their rounds. `test_first_parse_in_a_new_process` times what a
command pays: a fresh interpreter importing the parser and parsing one contract, with
a warm cache against a cache that cannot be written (so every start builds), with
`python -c pass` printed alongside for scale.
"""

from __future__ import annotations

import gc
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lark
import pytest

from sggit.contract import nodes as n
from sggit.contract import parser as contract_parser
from sggit.contract.fmt import format_document
from sggit.contract.parser import parse_text
from sggit.contract.parser_cache import CACHE_ENV, load_parser, loaded_from_cache
from sggit.contract.tree import load_tree, sg_files

REPO = Path(__file__).resolve().parent.parent
GENERATED = 1000


@dataclass(frozen=True)
class Corpus:
    """Contract texts and the JSON of the AST their parse gives, in the same order."""

    name: str
    paths: list[str]
    texts: list[str]
    ast_json: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def _corpus(name: str, paths: Sequence[Path]) -> Corpus:
    names = [str(p) for p in paths]
    texts = [p.read_text(encoding="utf-8") for p in paths]
    docs = [parse_text(t, p) for t, p in zip(texts, names, strict=True)]
    ast_json = [d.model_dump_json() for d in docs]
    assert n.Document.model_validate_json(ast_json[0]) == docs[0], "the baseline must rebuild the same AST"
    return Corpus(name, names, texts, ast_json)


# ---- generated genome ---------------------------------------------------------------

_SENTENCES = [
    "Bring the interface up only after every port is attached, so that no frame is forwarded half configured.",
    "The kernel refuses the change while the device is enslaved; detach it first and remember where it was.",
    "STP topology changes flush the forwarding database, which disrupts guest traffic on leaf bridges.",
    "A bond in active-backup mode keeps one member active and fails over on link loss within miimon.",
    "VLAN interfaces are named parent.vlan_id; other names confuse the operators who read ip link output.",
    "The upstream switch learns the bridge MAC; a change of MAC breaks DHCP leases and switch entries.",
    "Report what was created so that a rollback can remove exactly that and nothing more.",
    "Convergence takes up to thirty seconds when STP runs, and a few seconds when it does not.",
    "Do not touch interfaces that carry the management address unless the caller names them.",
    "The MTU of a bridge is the smallest MTU of its ports; set the ports first, then the bridge.",
    "Jumbo frames only help when every hop agrees on the MTU, including the switch ports.",
    "A missing carrier is not an error of this operation: report it and let the diagnostics judge.",
]
_NOUNS = ["bridge", "bond", "vlan", "port", "uplink", "mtu", "fdb", "route", "stp", "carrier", "mac", "lease"]
_FIELDS: list[tuple[str, str, str | None]] = [
    ("device", "string", None),
    ("bridge", "string", None),
    ("ports", "string[]", "[]"),
    ("members", "string[1..]", None),
    ("vlan_id", "int", None),
    ("vlan_ids", "int[1..4]", "[100, 200]"),
    ("mtu", "int", "1500"),
    ("timeout_s", "float", "2.5"),
    ("stp_enabled", "bool", "false"),
    ("mode", "string", '"active-backup"'),
    ("peer", "string?", None),
    ("priority", "int?", None),
    ("label", "string", '"lab"'),
    ("retries", "int", "3"),
]
_LITERALS = {
    "string": "eth0",
    "string?": "eth1",
    "int": "7",
    "int?": "8",
    "float": "0.5",
    "bool": "true",
    "string[]": "[eth0, eth1]",
    "string[1..]": "[eth0]",
    "int[1..4]": "[100, 200]",
}
_JSON = {
    "string": '"eth0"',
    "string?": '"eth1"',
    "int": "7",
    "int?": "8",
    "float": "0.5",
    "bool": "true",
    "string[]": '["eth0"]',
    "string[1..]": '["eth0"]',
    "int[1..4]": "[100]",
}
_POLICIES = [
    ["rollback completed steps", "report what failed"],
    ["rollback all"],
    ["preserve what works", "report partial"],
    ["report what failed"],
]


@dataclass
class _Gene:
    name: str
    family: str
    takes: list[tuple[str, str, str | None]]
    gives: list[tuple[str, str]]

    def required(self) -> list[tuple[str, str]]:
        return [(f, t) for f, t, d in self.takes if d is None and not t.endswith("?")]


@dataclass
class _Pathway:
    name: str
    takes: list[tuple[str, str]]


def _prose(rng: random.Random, paragraphs: int) -> list[str]:
    lines: list[str] = []
    for p in range(paragraphs):
        if p:
            lines.append("")
        words = " ".join(rng.sample(_SENTENCES, rng.randint(2, 3))).split()
        line = ""
        for word in words:
            if line and len(line) + 1 + len(word) > 72:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def _gene_spec(rng: random.Random, i: int, family: str) -> _Gene:
    noun = rng.choice(_NOUNS)
    verb = {"configuration": rng.choice(["set", "create", "attach", "enable"]), "diagnostic": "check", "transform": "derive"}[family]
    takes = rng.sample(_FIELDS, rng.randint(2, 6))
    if family == "configuration":
        gives = [("success", "bool"), ("resources_created", "string[]"), ("error", "string?")]
    elif family == "diagnostic":
        gives = [("healthy", "bool"), ("observed", "int"), ("rate", "float")][: rng.randint(1, 3)]
        if rng.random() < 0.5:
            gives.append(("findings", "finding[]"))
    else:
        gives = [("value", "string"), ("valid", "bool")]
    return _Gene(f"{verb}_{noun}_{i:04d}", family, takes, gives)


def _render_gene(rng: random.Random, g: _Gene, genes: list[_Gene]) -> str:
    risk = {"configuration": rng.choice(["low", "medium", "high"]), "diagnostic": "none", "transform": "none"}[g.family]
    out = [f"gene {g.name}", f"  is {g.family}", f"  risk {risk}", "", "  does:"]
    out += [f"    {line}" if line else "" for line in _prose(rng, rng.randint(1, 2))]
    out += ["", "  takes:"]
    for name, type_, default in g.takes:
        text = f"{type_} = {default}" if default is not None else type_
        out.append(f"    {name}  {text}  \"The {name.replace('_', ' ')} to use\"")
    out += ["", "  gives:"]
    out += [f"    {name}  {type_}  \"Reported {name.replace('_', ' ')}\"" for name, type_ in g.gives]
    if any(t == "finding[]" for _, t in g.gives):
        out += ["", "  types:", "    finding:", '      subject  string  "What was seen"', '      count    int     "How often"']
    if g.family == "configuration":
        out += ["", "  before:", "    - The device exists and is not enslaved elsewhere", "    - No object of this name exists yet"]
        out += ["", "  after:", "    - The object exists and is UP"]
        out += ["", "  fails when:", "    - device not found -> success=false", "    - netlink unavailable -> error"]
        diagnostics = [d for d in genes if d.family == "diagnostic"]
        if diagnostics:
            check = rng.choice(diagnostics)
            args = " ".join(f"{f}={_LITERALS[t]}" for f, t in check.required())
            out += ["", "  verify:", f"    {check.name} {args}".rstrip(), f"    within {rng.choice(['10s', '30s', '1m'])}"]
    elif g.family == "diagnostic":
        out += ["", "  unhealthy when:", "    - The observed count is above the expected count", "    - The rate exceeds one change per second"]
        fed = [c for c in genes if c.family == "configuration"]
        if fed:
            out += ["", "  feeds:"] + [f"    {c.name}  {rng.choice(n.TIMESCALES)}" for c in rng.sample(fed, min(len(fed), rng.randint(1, 3)))]
    else:
        example = ", ".join(f'"{f}": {_JSON[t]}' for f, t in g.required())
        out += ["", "  examples:", f'    - {{{example}}} -> {{"value": "x", "valid": true}}']
    return "\n".join(out) + "\n"


def _params(rng: random.Random, target: list[tuple[str, str]], scope: dict[str, str], indent: int) -> list[str]:
    lines = []
    for field, type_ in target:
        same = [name for name, t in scope.items() if t == type_]
        value = f"{{{rng.choice(same)}}}" if same and rng.random() < 0.7 else _LITERALS[type_]
        lines.append(" " * indent + f"{field} = {value}")
    return lines


def _render_pathway(rng: random.Random, p: _Pathway, genes: list[_Gene], pathways: list[_Pathway]) -> str:
    out = [f"pathway {p.name}", f"  risk {rng.choice(['low', 'medium', 'high'])}", "", "  does:"]
    out += [f"    {line}" if line else "" for line in _prose(rng, 1)]
    out += ["", "  takes:"] + [f"    {f}  {t}  \"The {f.replace('_', ' ')}\"" for f, t in p.takes]
    out += ["", "  steps:"]
    scope = dict(p.takes)
    callable_genes = [g for g in genes if g.family != "transform"]
    diagnostics = [g for g in genes if g.family == "diagnostic"]
    steps: list[_Gene | None] = []
    for number in range(1, rng.randint(2, 5) + 1):
        if number > 1:
            out.append("")
        kind = rng.random()
        earlier_diag = [k for k, s in enumerate(steps, 1) if s is not None and s.family == "diagnostic"]
        if kind < 0.15 and pathways:
            sub = rng.choice(pathways)
            out.append(f"    {number}. -> {sub.name}")
            out += _params(rng, sub.takes, scope, 9)
            steps.append(None)
        elif kind < 0.3 and "nics" in scope:
            g = rng.choice(callable_genes)
            out.append(f"    {number}. for nic in {{nics}}:")
            out.append(f"         {g.name}")
            out += _params(rng, g.required(), {**scope, "nic": "string"}, 11)
            steps.append(None)
        elif kind < 0.45 and earlier_diag:
            k = rng.choice(earlier_diag)
            yes, no = rng.choice(diagnostics), rng.choice(callable_genes)
            out.append(f"    {number}. when step {k}.healthy:")
            out.append(f"         true -> {yes.name}")
            out += _params(rng, yes.required(), scope, 11)
            out.append(f"         false -> {no.name}")
            out += _params(rng, no.required(), scope, 11)
            steps.append(None)
        else:
            g = rng.choice(callable_genes)
            out.append(f"    {number}. {g.name}")
            out += _params(rng, g.required(), scope, 9)
            steps.append(g)
    if len(steps) > 1:
        out += ["", "  requires:"] + [f"    step {k} needs step {k - 1}" for k in range(2, len(steps) + 1)]
    check = rng.choice(diagnostics)
    args = " ".join(f"{f}={_LITERALS[t]}" for f, t in check.required())
    out += ["", "  verify:", f"    {check.name} {args}".rstrip(), "    within 30s"]
    out += ["", "  on failure:"] + [f"    {policy}" for policy in rng.choice(_POLICIES)]
    return "\n".join(out) + "\n"


def generate_tree(root: Path, count: int, seed: int = 20261122) -> list[Path]:
    """Write `count` contracts (two genes for each pathway) in the canonical layout."""
    rng = random.Random(seed)
    n_genes = count * 2 // 3
    families = ["configuration"] * 3 + ["diagnostic"] * 2 + ["transform"]
    genes = [_gene_spec(rng, i, families[i % len(families)]) for i in range(n_genes)]
    texts: dict[Path, str] = {}
    for g in genes:
        texts[root / "contracts" / "genes" / f"{g.name}.sg"] = _render_gene(rng, g, genes)
    pathways: list[_Pathway] = []
    for i in range(count - n_genes):
        takes = [("name", "string"), ("nics", "string[]"), ("vlan_id", "int")][: rng.randint(1, 3)]
        p = _Pathway(f"provision_{rng.choice(_NOUNS)}_{i:04d}", takes)
        texts[root / "contracts" / "pathways" / f"{p.name}.sg"] = _render_pathway(rng, p, genes, pathways)
        pathways.append(p)
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(format_document(parse_text(text, str(path))), encoding="utf-8")
    return sorted(texts)


# ---- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Corpus:
    return _corpus("shipped genome", sg_files([REPO / "contracts"]))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("genome")
    paths = generate_tree(root, GENERATED)
    tree = load_tree(root / "contracts")  # raises, listing every problem, if the generator drifts
    assert len(tree.genes) + len(tree.pathways) == GENERATED
    return _corpus(f"{GENERATED} generated contracts", paths)


# ---- benchmarks -----------------------------------------------------------------------


def _parse_all(corpus: Corpus) -> Callable[[], list[n.Document]]:
    def run() -> list[n.Document]:
        return [parse_text(t, p) for t, p in zip(corpus.texts, corpus.paths, strict=True)]

    return run


def _load_all(corpus: Corpus) -> Callable[[], list[n.Document]]:
    def run() -> list[n.Document]:
        return [n.Document.model_validate_json(j) for j in corpus.ast_json]

    return run


def _min_seconds(fn: Callable[[], object], rounds: int) -> float:
    """Timed as the parse is: one warm-up round, then the best of `rounds`, collector off."""
    fn()
    best = float("inf")
    gc.disable()
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
    finally:
        gc.enable()
    return best


def _report(benchmark: Any, corpus: Corpus, rounds: int, capsys: pytest.CaptureFixture[str]) -> None:
    if benchmark.stats is None:  # --benchmark-disable: nothing was timed
        return
    parse_s = benchmark.stats.stats.min
    baseline_s = _min_seconds(_load_all(corpus), rounds)
    per_contract_ms = parse_s / len(corpus) * 1000
    ratio = parse_s / baseline_s
    benchmark.extra_info.update(
        contracts=len(corpus),
        per_contract_ms=round(per_contract_ms, 4),
        baseline_per_contract_ms=round(baseline_s / len(corpus) * 1000, 4),
        ratio=round(ratio, 1),
    )
    with capsys.disabled():
        print(f"\n{corpus.name}: {per_contract_ms:.3f} ms per contract, {ratio:.0f}x loading the same AST from JSON")


@pytest.mark.benchmark(group="parse shipped genome", disable_gc=True)
def test_parse_shipped_genome(benchmark: Any, shipped: Corpus, capsys: pytest.CaptureFixture[str]) -> None:
    docs = benchmark.pedantic(_parse_all(shipped), rounds=100, warmup_rounds=5)
    assert [d.model_dump_json() for d in docs] == shipped.ast_json
    _report(benchmark, shipped, 100, capsys)


@pytest.mark.benchmark(group="parse 1,000 contracts", disable_gc=True)
def test_parse_generated_tree(benchmark: Any, generated: Corpus, capsys: pytest.CaptureFixture[str]) -> None:
    docs = benchmark.pedantic(_parse_all(generated), rounds=5, warmup_rounds=1)
    assert len(docs) == GENERATED and all(len(d.definitions) == 1 for d in docs)
    _report(benchmark, generated, 5, capsys)


@pytest.mark.benchmark(group="parse shipped genome", disable_gc=True)
def test_baseline_shipped_ast_from_json(benchmark: Any, shipped: Corpus) -> None:
    docs = benchmark.pedantic(_load_all(shipped), rounds=100, warmup_rounds=5)
    assert len(docs) == len(shipped)


@pytest.mark.benchmark(group="parse 1,000 contracts", disable_gc=True)
def test_baseline_generated_ast_from_json(benchmark: Any, generated: Corpus) -> None:
    docs = benchmark.pedantic(_load_all(generated), rounds=5, warmup_rounds=1)
    assert len(docs) == GENERATED


# ---- loading the parser ----------------------------------------------------------------


def _grammar() -> str:
    return (REPO / "sggit" / "contract" / "grammar.lark").read_text(encoding="utf-8")


@pytest.mark.benchmark(group="parser load", disable_gc=True)
def test_parser_load_from_cache(benchmark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    grammar, options = _grammar(), contract_parser._OPTIONS
    assert not loaded_from_cache(load_parser(grammar, contract_parser._Indenter(), options))

    def from_cache() -> lark.Lark:
        return load_parser(grammar, contract_parser._Indenter(), options)

    # re.purge: a command starts with an empty regex cache, and both sides compile the terminals
    loaded = benchmark.pedantic(from_cache, setup=re.purge, rounds=30, warmup_rounds=3)
    assert loaded_from_cache(loaded)
    if benchmark.stats is None:
        return
    cached_s = benchmark.stats.stats.min
    build_s = float("inf")
    for _ in range(5):
        re.purge()
        start = time.perf_counter()
        lark.Lark(grammar, postlex=contract_parser._Indenter(), **options)
        build_s = min(build_s, time.perf_counter() - start)
    ratio = build_s / cached_s
    benchmark.extra_info.update(cached_ms=round(cached_s * 1000, 2), build_ms=round(build_s * 1000, 2), ratio=round(ratio, 1))
    with capsys.disabled():
        print(f"\nparser: {cached_s * 1000:.1f} ms from the cache, {build_s * 1000:.1f} ms built, building is {ratio:.1f}x loading")


_FIRST_PARSE = "from sggit.contract.parser import parse_text; parse_text('gene g\\n  is transform\\n  risk none\\n')"


def _process_seconds(runs: list[tuple[list[str], dict[str, str]]], rounds: int) -> list[float]:
    """Best time of each command; rounds interleave them so a busy machine slows all alike."""
    best = [float("inf")] * len(runs)
    for _ in range(rounds):
        for i, (args, env) in enumerate(runs):
            start = time.perf_counter()
            subprocess.run(args, env=env, check=True, cwd=REPO)
            best[i] = min(best[i], time.perf_counter() - start)
    return best


@pytest.mark.benchmark(group="parser load")
def test_first_parse_in_a_new_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warm = {**os.environ, CACHE_ENV: str(tmp_path / "cache")}
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    cold = {**os.environ, CACHE_ENV: str(blocker / "cache")}
    command = [sys.executable, "-c", _FIRST_PARSE]
    subprocess.run(command, env=warm, check=True, cwd=REPO)
    assert any((tmp_path / "cache").iterdir())
    cached_s, built_s, bare_s = _process_seconds([(command, warm), (command, cold), ([sys.executable, "-c", "pass"], warm)], 10)
    with capsys.disabled():
        print(
            f"\nfirst parse in a new process: {cached_s * 1000:.0f} ms with the cache, {built_s * 1000:.0f} ms building"
            f" ({built_s / cached_s:.1f}x); python -c pass {bare_s * 1000:.0f} ms ({cached_s / bare_s:.1f}x and {built_s / bare_s:.1f}x)"
        )
