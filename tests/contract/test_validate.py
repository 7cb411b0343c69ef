"""Runtime validators: defaults applied, every violation listed with its JSON path."""

from __future__ import annotations

import pytest

from sggit.contract.parser import parse_text
from sggit.contract.tree import load_tree
from sggit.contract.validate import Invalid, compile_validator
from sggit.shipped import shipped_root
from tests.contract.helpers import sg

GENE = parse_text(sg("""
    gene g
      is transform
      risk none
      takes:
        name        string         "n"
        interfaces  string[]       "i"
        count       int = 3        "c"
        ratio       float?         "r"
        tags        string[1..2]?  "t"
        flaps       flap[]         "f"
        blob        json           "anything"
      gives:
        ok  bool  "o"
      types:
        flap:
          mac    string    "m"
          ports  string[]  "p"
    """)).definitions[0]


def test_defaults_and_optional_fields_are_filled() -> None:
    value = compile_validator(GENE, "takes")({"name": "b", "interfaces": [], "flaps": [], "blob": {"x": [1]}})
    assert value == {"name": "b", "interfaces": [], "count": 3, "ratio": None, "tags": None, "flaps": [], "blob": {"x": [1]}}


def test_every_violation_has_a_json_path() -> None:
    _, violations = compile_validator(GENE, "takes").validate(
        {
            "interfaces": ["eth0", "eth1", 7],
            "count": True,
            "ratio": "x",
            "tags": ["a", "b", "c"],
            "flaps": [{"mac": "m", "ports": ["p", 1]}, {"ports": []}, 5],
            "blob": None,
            "extra": 1,
        }
    )
    assert [str(v) for v in violations] == [
        "name: required field is missing",
        "interfaces[2]: expected string, got int",
        "count: expected int, got bool",
        "ratio: expected float, got string",
        "tags: expected at most 2 items, got 3",
        "flaps[0].ports[1]: expected string, got int",
        "flaps[1].mac: required field is missing",
        "flaps[2]: expected object, got int",
        "extra: unexpected field",
    ]


@pytest.mark.parametrize("data", [{}, [1, 2], "x", None, 3])
def test_non_objects_and_empty_objects_are_rejected(data: object) -> None:
    with pytest.raises(Invalid) as info:
        compile_validator(GENE, "takes")(data)
    assert info.value.violations


def test_ints_are_accepted_as_floats_and_normalised() -> None:
    value = compile_validator(GENE, "takes")({"name": "b", "interfaces": [], "flaps": [], "blob": 1, "ratio": 2})
    assert value["ratio"] == 2.0 and isinstance(value["ratio"], float)


def test_gives_validation_of_a_shipped_diagnostic() -> None:
    gene = load_tree(shipped_root() / "contracts").genes["check_fdb_stability"]
    gives = compile_validator(gene, "gives")
    ok = {"healthy": False, "flapping_macs": [{"mac": "aa", "ports": ["eth0", "eth1"], "transitions": 7}], "entry_count": 3, "churn_rate": 0.43}
    assert gives(ok)["flapping_macs"][0]["transitions"] == 7
    _, violations = gives.validate({**ok, "flapping_macs": [{"mac": "aa", "ports": "eth0", "transitions": 1}]})
    assert [str(v) for v in violations] == ["flapping_macs[0].ports: expected list, got string"]


def test_which_must_be_takes_or_gives() -> None:
    with pytest.raises(ValueError):
        compile_validator(GENE, "gave")
