"""A domain installed as a package: a distribution on sys.path whose entry point in
`sggit.domains` returns a Domain with its own contracts, seed, kernel kind and resource kind.

Nothing in sggit names it: `sggit doctor` lists it, `sggit init --domain toy` scaffolds
its genome, `sggit check` places its contracts in it, and `sggit run` runs its gene
on its kernel.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from sggit import domains
from sggit.contract import checks
from tests.helpers import sg_in

PACKAGE = {
    "toydomain/__init__.py": '''
        from pathlib import Path
        from abc import ABC, abstractmethod
        from contextlib import contextmanager

        from sggit.domains import Domain, ResourceKind
        from sggit.kernel.kinds import KernelKind


        class Signs(ABC):
            """The toy gene_sdk: a signboard."""

            @abstractmethod
            def paint(self, text: str) -> str: ...

            @abstractmethod
            def now(self) -> float: ...

            @abstractmethod
            def sleep(self, seconds: float) -> float: ...


        class Board(Signs):
            kernel_kind = "toy-board"
            sdk_interface = Signs

            def __init__(self):
                self.clock = 0.0

            def paint(self, text):
                return text.upper() + "!"

            def now(self):
                return self.clock

            def sleep(self, seconds):
                self.clock += seconds
                return self.clock


        class BoardKind(KernelKind):
            name = "toy-board"
            clock = "virtual"
            domain = "toy"

            @contextmanager
            def open(self, target):
                yield Board()

            def fresh(self, target):
                return Board

            def features(self, kernel=None):
                return {"paint": (True, "always")}


        def domain():
            return Domain(
                name="toy", description="signboards", root=Path(__file__).parent / "genome_files",
                kernel_kinds=("toy-board",), resource_kinds={"sign": ResourceKind("sign", {"text": False}, pathway="paint_sign")},
                sdk_surface="paint(text) -> str", prompt_subject="signboard genome",
                snapshot=lambda kernel: None, host=lambda bindings: None, origin="toydomain 0.1",
                kinds={"toy-board": BoardKind},
            )
        ''',
    "toydomain/genome_files/contracts/genes/paint.sg": '''
        gene paint
          is transform
          risk none

          does:
            Paint a sign.

          takes:
            text  string  "What the sign says"

          gives:
            painted  string  "The sign as painted"

          examples:
            - {"text": "open"} -> {"painted": "OPEN!"}
        ''',
    "toydomain/genome_files/contracts/pathways/paint_sign.sg": '''
        pathway paint_sign
          takes:
            text  string  "What the sign says"

          steps:
            1. paint
                 text = {text}
        ''',
    "toydomain/genome_files/contracts/topologies/shopfront.sg": '''
        topology shopfront
          has:
            front:
              is sign
              text open
        ''',
    "toydomain/genome_files/genome/paint/seed.py": '''
        import json

        import gene_sdk


        def execute(input_json: str) -> str:
            return json.dumps({"painted": gene_sdk.paint(json.loads(input_json)["text"])})
        ''',
    "toydomain/genome_files/phenotypes/shop.toml": '''
        name = "shop"
        topology = "shopfront"
        ''',
    "toydomain-0.1.dist-info/METADATA": '''
        Metadata-Version: 2.1
        Name: toydomain
        Version: 0.1
        ''',
    "toydomain-0.1.dist-info/entry_points.txt": '''
        [sggit.domains]
        toy = toydomain:domain
        ''',
}


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    for rel, text in PACKAGE.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(checks, "RESOURCE_KINDS", dict(checks.RESOURCE_KINDS))
    monkeypatch.setattr(domains, "_installed", [])
    domains._entry_point_factories.cache_clear()
    yield site
    domains._entry_point_factories.cache_clear()


def test_an_installed_domain_package_scaffolds_checks_and_runs(toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    doctor = sg_in(tmp_path, "doctor", "--format", "json", code=None)
    assert "domain.toy" in doctor.stdout and "toydomain 0.1: signboards (kernels: toy-board)" in doctor.stdout

    root = tmp_path / "mixed"
    sg_in(tmp_path, "init", str(root), "--domain", "data", "--domain", "toy")
    assert (root / "contracts" / "toy" / "genes" / "paint.sg").is_file()
    assert (root / "contracts" / "data" / "genes" / "ingest_csv.sg").is_file()

    check = sg_in(root, "check", "--format", "json")
    placed = json.loads(check.stdout)["domains"]
    assert placed["paint"] == "toy" and placed["shopfront"] == "toy" and placed["ingest_csv"] == "data"

    run = sg_in(root, "run", "paint", "--phenotype", "shop", "--kernel", "toy-board", "--input", '{"text": "open"}')
    assert json.loads(run.stdout)["output"] == {"painted": "OPEN!"}

    wrong = sg_in(root, "run", "paint", "--phenotype", "shop", "--kernel", "data-mock", "--input", '{"text": "open"}', code=2)
    assert "paint belongs to domain toy" in wrong.output

    # its `sign` resources are declared without a planner: checked above, but not planned
    unplanned = sg_in(root, "plan", "shopfront", "--phenotype", "shop", "--kernel", "toy-board", code=2)
    assert "resource" in unplanned.output and "declares kind 'sign' but gives no way to plan it" in unplanned.output


def test_a_pathway_composing_a_gene_of_another_domain_is_refused(toy: Path, tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    sg_in(tmp_path, "init", str(root), "--domain", "data", "--domain", "toy")
    bad = root / "contracts" / "data" / "pathways" / "painted_load.sg"
    bad.write_text(dedent('''\
        pathway painted_load
          takes:
            table  string  "Table"

          steps:
            1. check_row_count
                 table = {table}

            2. paint
                 text = {table}

            3. -> paint_sign
                 text = {table}
        '''), encoding="utf-8")
    check = sg_in(root, "check", str(bad), code=1)
    assert f"{bad}:9:8: error: pathway painted_load (domain data) composes paint of domain toy" in check.output
    assert check.output.count("error:") == 1
