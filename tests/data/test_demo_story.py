"""The data story of `make demo`: a renamed column fails the dominant, a mutant takes over."""

from __future__ import annotations

from pathlib import Path

import pytest

from sggit.domains.data.demo import data_story
from sggit.genome.lineage import read_lineage
from sggit.genome.repo import Genome


def test_a_renamed_column_is_healed_by_a_mutant_that_becomes_dominant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    story = data_story(tmp_path / "warehouse")
    assert story["first"] == 0 and story["second"] == 0
    assert story["mutant"] is not None and story["dominant"] == story["mutant"]
    lineage = read_lineage(Genome.open(tmp_path / "warehouse"), "transform_records", story["mutant"])
    assert lineage is not None and lineage.engine == "fixture" and lineage.parents
    assert story["tables"]["readings"] == 3
    captured = capfd.readouterr()
    out = captured.out + captured.err
    assert "table staging_2 has no column temperature" in out
    assert "demote transform_records" in out
