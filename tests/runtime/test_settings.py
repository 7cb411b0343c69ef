"""A phenotype's `[settings]` are checked where they are written, by the rules the code that reads them applies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sggit.errors import SggitError
from sggit.genome import phenostore
from sggit.genome.repo import Genome
from sggit.runtime import fusion
from sggit.runtime.arena import Thresholds
from sggit.runtime.settings import SETTINGS, problem
from tests.helpers import sg_in

BAD = """
[settings]
engine = "bogus"
fusion_threshold = -3
host_interval = "soon"
wat = 1

[settings.bridge_creat]
demote_after = 2

[settings.bridge_create]
fusion_threshold = 3
demote_after = 0
"""


def test_check_locates_every_bad_setting_at_the_line_that_sets_it(project: Path) -> None:
    path = project / "phenotypes" / "dell_r740.toml"
    before = path.read_text()
    path.write_text(before + BAD)
    offset = len(before.splitlines())
    found = json.loads(sg_in(project, "check", "--format", "json", code=1).output)["diagnostics"]
    rows = sorted((d["line"] - offset, d["message"].split(" ", 1)[0].rstrip(":")) for d in found if d["path"].endswith("dell_r740.toml"))
    assert rows == [
        (3, "settings.engine"), (4, "settings.fusion_threshold"), (5, "settings.host_interval"), (6, "settings.wat"),
        (8, "settings.bridge_creat"), (12, "settings.bridge_create.fusion_threshold"), (13, "settings.bridge_create.demote_after"),
    ]
    messages = " | ".join(d["message"] for d in found)
    assert "settings.bridge_creat: no locus bridge_creat (did you mean bridge_create?)" in messages
    assert "settings.demote_after" not in messages  # the per-locus one is named as such


def test_the_shipped_phenotypes_and_every_default_keep_the_rules(project: Path) -> None:
    assert sg_in(project, "check").exit_code == 0
    assert problem("demote_after", Thresholds().demote_after) is None and problem("fusion_threshold", fusion.DEFAULT_THRESHOLD) is None
    assert problem("host_interval", "5m") is None and problem("engine", "gp") is None and problem("promote_margin", 0.1) is None
    assert all(not s.per_locus or s.name in Thresholds.model_fields for s in SETTINGS.values())
    assert set(Thresholds.model_fields) <= set(SETTINGS)


@pytest.mark.parametrize("key, value", [("demote_after", 0), ("promote_margin", 2.0), ("reexpress", -1), ("promote_min_invocations", True)])
def test_the_code_that_reads_a_setting_refuses_it_in_the_same_words(project: Path, key: str, value: object) -> None:
    """A map written before the check existed, or past it, fails where it is read, naming the phenotype and the setting."""
    genome = Genome.open(project)

    def edit(pmap):  # type: ignore[no-untyped-def]
        return pmap.model_copy(update={"settings": {**pmap.settings, "bridge_create": {key: value}}})

    phenostore.change_phenotype(genome, "dell_r740", edit, action="settings", subject="a bad setting")
    with pytest.raises(SggitError) as refused:
        Thresholds.for_locus(phenostore.read_phenotype(genome, "dell_r740"), "bridge_create")
    assert str(refused.value).startswith(f"phenotype dell_r740: {problem(key, value)}")
    with pytest.raises(SggitError, match="settings.fusion_threshold: must be an integer of at least 1, not 0"):
        fusion.threshold_for({"fusion_threshold": 0})
