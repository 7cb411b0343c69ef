from __future__ import annotations

from sggit.engines.base import ContractBrief, MutationContext
from sggit.engines.llm.prompts import GENERATE, MUTATE, render

from .conftest import PARENT


def test_repair_without_a_parent_asks_for_a_fresh_allele_for_that_input(contract):
    context = MutationContext(contract=contract, failing_input={"bridge_name": "br9"}, error="no allele expressed")
    prompt = render(context, 2)
    assert prompt.mode == MUTATE
    assert prompt.user.startswith("No allele of the gene below could handle an input. Propose 2 different new alleles")
    assert "The failing allele" not in prompt.user
    assert '"bridge_name": "br9"' in prompt.user
    assert "\n\n\n" not in prompt.user


def test_prompt_digest_follows_the_question(failure):
    same = render(failure, 1).digest
    assert render(failure.model_copy(), 1).digest == same
    assert render(failure.model_copy(update={"error": "other"}), 1).digest != same
    assert render(failure, 2).digest != same


def test_contract_text_stands_in_when_there_is_no_prose():
    text = "gene probe\n  is diagnostic\n  takes:\n    host string"
    prompt = render(MutationContext(contract=ContractBrief(locus="probe", text=text)), 1)
    assert prompt.mode == GENERATE
    assert text in prompt.user
    assert "What it does" not in prompt.user


def test_verbatim_prose_keeps_its_blank_lines_and_indentation(failure):
    prose = "First paragraph.\n\n\n    indented table:\n      a  b\n"
    context = failure.model_copy(update={"contract": failure.contract.model_copy(update={"does": prose})})
    assert prose in render(context, 1).user
    assert PARENT.strip() in render(context, 1).user


def test_the_system_prompt_names_the_genome_in_its_domains_words(failure, monkeypatch):
    import dataclasses

    from sggit import domains

    assert "one gene contract of a\nnetwork-configuration genome." in render(failure, 1).system
    network = domains.get("network")
    monkeypatch.setitem(domains.DOMAINS, "data", lambda: dataclasses.replace(network, name="data", prompt_subject="data-pipeline genome"))
    assert "one gene contract of a\ndata-pipeline genome." in render(failure, 1, domain="data").system


def test_a_domain_type_is_explained_where_the_prompt_lists_what_a_gene_takes():
    from sggit.contract.tree import load_tree
    from sggit.runtime.mutation import brief
    from sggit.shipped import shipped_root

    gene = load_tree(shipped_root() / "contracts").genes["bridge_create"]
    user = render(MutationContext(contract=brief(gene)), 1).user
    assert ("- bridge_name ifname (a Linux interface name: 1 to 15 bytes, no NUL, '/', ':' or whitespace, "
            "not . or ..)  Name for the bridge") in user
    assert "- stp_enabled bool = false  Enable Spanning Tree Protocol" in user
