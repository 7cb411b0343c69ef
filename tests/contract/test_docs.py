"""The `sg` examples of docs/contract-language.md pass `sggit check` and `sggit fmt --check`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import sg

DOC = Path(__file__).resolve().parents[2] / "docs" / "contract-language.md"
BLOCKS = re.findall(r"^```sg\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_is_valid_and_canonical(project: Path, index: int) -> None:
    path = project / "contracts" / "example.sg"
    path.write_text(BLOCKS[index], encoding="utf-8")
    checked = sg("check", str(path), code=None)
    assert checked.exit_code == 0, checked.stdout
    formatted = sg("fmt", "--check", str(path), code=None)
    assert formatted.exit_code == 0, formatted.stdout
