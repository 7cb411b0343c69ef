from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sggit.errors import SggitError, UsageError
from sggit.genome import phenotype as ph
from sggit.genome.phenotype import PhenotypeMap, dump_phenotype, load_phenotype_file, parse_phenotype
from sggit.shipped import shipped_root
from tests.genome.helpers import fake_id

A, B, C = fake_id(1), fake_id(2), fake_id(3)


def _base() -> PhenotypeMap:
    return PhenotypeMap(name="r740", topology="production_server", bindings={"nic": ["eno1", "eno2"]})


def test_the_minimal_shipped_form_loads() -> None:
    pmap = load_phenotype_file(shipped_root() / "phenotypes" / "dell_r740.toml")
    assert pmap.name == "dell_r740" and pmap.topology == "production_server"
    assert pmap.bindings["nic"] == ["eno1", "eno2", "eno3", "eno4"] and pmap.loci == {}


def test_dump_is_valid_toml_canonical_and_round_trips() -> None:
    pmap = ph.promote(_base(), "bridge_create", A)
    pmap = ph.set_state(pmap, "bridge_create", B, "recessive")
    pmap = ph.set_state(pmap, "bridge_create", C, "shadow")
    pmap = ph.fuse(pmap, "create_verified_bridge", A)
    pmap.settings = {"engine": "gp", "limits": {"tries": 3}}
    text = dump_phenotype(pmap)
    assert parse_phenotype(text) == pmap
    assert dump_phenotype(parse_phenotype(text)) == text
    raw = tomllib.loads(text)
    assert raw["loci"]["bridge_create"]["stack"] == [A, B]
    assert raw["loci"]["bridge_create"]["alleles"][C]["state"] == "shadow"
    assert text.index("[bindings]") < text.index("[settings]") < text.index("[loci.bridge_create]") < text.index("[pathways.")


@pytest.mark.parametrize(
    "body, message",
    [
        (f'[loci.x]\ndominant = "{A}"\nstack = ["{B}", "{A}"]\n[loci.x.alleles.{A}]\nstate = "dominant"\n[loci.x.alleles.{B}]\nstate = "recessive"\n', "first in the stack"),
        (f'[loci.x]\nstack = ["{A}"]\n[loci.x.alleles.{A}]\nstate = "alive"\n', "state"),
        (f'[loci.x]\nstack = ["{A}"]\n', "no lifecycle entry"),
        ('[loci.x]\nstack = ["abc"]\n[loci.x.alleles.abc]\nstate = "recessive"\n', "full allele id"),
        ('[pathways.p]\nstate = "fused"\n', "fused_allele"),
        ('[loci.x]\nunknown = 1\n', "xtra"),
    ],
)
def test_invalid_maps_are_rejected_with_the_reason(body: str, message: str) -> None:
    with pytest.raises(SggitError, match=message):
        parse_phenotype('name = "r740"\ntopology = "t"\n' + body)


def test_promote_keeps_the_old_dominant_as_first_fallback() -> None:
    pmap = ph.promote(_base(), "l", A)
    pmap = ph.set_state(pmap, "l", B, "recessive")
    pmap = ph.set_state(pmap, "l", C, "recessive")
    pmap = ph.promote(pmap, "l", C)
    assert pmap.loci["l"].stack == [C, A, B] and pmap.loci["l"].dominant == C
    assert pmap.loci["l"].alleles[A].state == "recessive"
    assert ph.promote(pmap, "l", C) is None


def test_demote_hands_over_to_the_next_and_refuses_to_empty_the_stack() -> None:
    pmap = ph.promote(_base(), "l", A)
    with pytest.raises(UsageError, match="only allele"):
        ph.demote(pmap, "l", A)
    pmap = ph.set_state(pmap, "l", B, "recessive")
    pmap = ph.demote(pmap, "l", A)
    assert pmap.loci["l"].dominant == B and pmap.loci["l"].stack == [B, A]
    pmap = ph.demote(pmap, "l", A)
    assert pmap.loci["l"].alleles[A].state == "deprecated" and pmap.loci["l"].stack == [B]


def test_lifecycle_advances_from_shadow_to_dominant() -> None:
    pmap = ph.promote(_base(), "l", A)
    pmap = ph.set_state(pmap, "l", B, "shadow")
    assert pmap.loci["l"].stack == [A]
    pmap = ph.set_state(pmap, "l", B, "canary")
    pmap = ph.set_state(pmap, "l", B, "recessive")
    assert pmap.loci["l"].stack == [A, B]
    pmap = ph.set_state(pmap, "l", A, "deprecated")
    assert pmap.loci["l"].dominant == B and pmap.loci["l"].stack == [B]


def test_decompose_needs_a_fused_pathway() -> None:
    with pytest.raises(UsageError):
        ph.decompose(_base(), "p")
    fused = ph.fuse(_base(), "p", A)
    assert ph.decompose(fused, "p").pathways["p"].state == "decomposed"


_op = st.tuples(st.sampled_from(["dominant", "recessive", "shadow", "canary", "deprecated", "demote"]), st.sampled_from([A, B, C]))


@settings(max_examples=150, deadline=None)
@given(st.lists(_op, max_size=25))
def test_any_sequence_of_changes_keeps_the_map_valid_and_round_trippable(ops: list[tuple[str, str]]) -> None:
    pmap = _base()
    for action, allele in ops:
        try:
            new = ph.demote(pmap, "l", allele) if action == "demote" else ph.set_state(pmap, "l", allele, action)
        except UsageError:
            continue
        if new is not None:
            pmap = new
        entry = pmap.locus("l")
        assert (entry.dominant is None) or entry.stack[0] == entry.dominant
        assert parse_phenotype(dump_phenotype(pmap)) == pmap
