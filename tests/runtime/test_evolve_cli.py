from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sggit.app.scenarios import plant_regression
from sggit.contract.tree import load_tree
from sggit.genome import phenostore
from sggit.genome.lineage import read_lineage
from sggit.genome.repo import Genome
from sggit.shipped import shipped_root
from tests.engines.llm.standin import StandIn, message
from tests.helpers import sg

from .helpers import RAISES, STP_FIX, add_allele, without_reexpression

BRIDGE_OK = (
    "import json\nimport gene_sdk\n\n"
    "def execute(input_json):\n"
    "    data = json.loads(input_json)\n"
    "    gene_sdk.create_bridge(data['bridge_name'])\n"
    "    return json.dumps({'success': True, 'resources_created': [data['bridge_name']], 'error': None})\n"
)





def plant(genome: Genome) -> str:
    """The shipped bridge_create seed with a one-token bug, made dominant."""
    return plant_regression(genome, "dell_r740")


def only_broken_stp(genome: Genome) -> str:
    broken = add_allele(genome, "bridge_stp", RAISES, state="dominant")
    for allele in phenostore.read_phenotype(genome, "dell_r740").locus("bridge_stp").stack[1:]:
        phenostore.demote(genome, "dell_r740", "bridge_stp", allele)
    without_reexpression(genome)
    return broken


def test_heal_with_gp_repairs_a_planted_seed_bug_and_promote_has_nothing_left(here: Path) -> None:
    genome = Genome.open(here)
    planted = plant(genome)
    out = sg("heal", "bridge_create", "--phenotype", "dell_r740", "--engine", "gp", "--seed", "3").output
    assert f"parent {planted[:12]}" in out and "PASS" in out and "(fast-forwarded)" in out
    winner = phenostore.read_phenotype(genome, "dell_r740").locus("bridge_create").dominant
    assert winner != planted and read_lineage(genome, "bridge_create", winner).engine == "gp"
    assert f"sggit: promote bridge_create to {winner[:12]} on dell_r740" in out
    told = out.splitlines()  # in the order it happened: its first run (recessive), then its promotion
    first_run = next(i for i, line in enumerate(told) if f"{winner[:7]} passed its first run at bridge_create: now recessive" in line)
    assert first_run < told.index(f"  winner {winner[:12]} is now dominant"), out
    result = json.loads(sg("run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "brx", "interfaces": []}').output)
    assert result["ok"] and result["output"]["resources_created"] == ["brx"]
    again = sg("heal", "bridge_create", "--phenotype", "dell_r740", "--engine", "gp").output
    assert "nothing to heal" in again
    assert "no pending promotion" in sg("promote", "--phenotype", "dell_r740").output


def test_heal_then_promote_writes_a_reviewed_promotion_for_a_high_risk_locus(here: Path, tmp_path: Path) -> None:
    genome = Genome.open(here)
    add_allele(genome, "mac_preserve", RAISES, state="dominant")
    sg("run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": ["eno1"]}')
    sg("run", "mac_preserve", "--phenotype", "dell_r740", "--no-wait", "--input", '{"bridge": "br0", "uplink": "eno1"}')
    fixtures = tmp_path / "fixtures" / "mac_preserve"
    fixtures.mkdir(parents=True)
    (fixtures / "fix.py").write_text(
        "import json\nimport gene_sdk\n\n"
        "def execute(input_json):\n"
        "    data = json.loads(input_json)\n"
        "    mac = gene_sdk.get_link(data['uplink'])['mac']\n"
        "    gene_sdk.set_mac(data['bridge'], mac)\n"
        "    return json.dumps({'success': True, 'mac': mac, 'source': 'uplink', 'error': None})\n"
    )
    tip = genome.target(phenostore.phenotype_ref("dell_r740"))
    out = sg("heal", "mac_preserve", "--phenotype", "dell_r740", "--engine", "fixture", "--fixture-dir", str(tmp_path / "fixtures")).output
    assert "waits for review" in out
    body = tmp_path / "body.md"
    promoted = sg("promote", "--phenotype", "dell_r740", "--auto", "--body-out", str(body)).output
    assert "sggit: promote mac_preserve to" in promoted and "waits for review" in promoted
    text = body.read_text()
    assert "this allele is broken" in text and "sggit rollback --phenotype dell_r740" in text and "```diff" in text
    history = [c.action for c in phenostore.history(genome, "dell_r740", limit=2)]
    assert history == ["canary", "register"]  # high risk: shadow, canary, then it waits out of the stack
    entry = phenostore.read_phenotype(genome, "dell_r740").locus("mac_preserve")
    waiting = [a for a, s in entry.alleles.items() if s.state == "canary"]
    assert len(waiting) == 1 and waiting[0] not in entry.stack
    assert genome.target(phenostore.phenotype_ref("dell_r740")) != tip
    branch = genome.repo.references["refs/heads/sggit/promote/dell_r740/mac_preserve"].peel()
    assert branch.parents[0].id == genome.target(phenostore.phenotype_ref("dell_r740"))


def test_run_with_the_fixture_engine_heals_through_the_lifecycle(here: Path, tmp_path: Path) -> None:
    genome = Genome.open(here)
    only_broken_stp(genome)
    (tmp_path / "fx" / "bridge_stp").mkdir(parents=True)
    (tmp_path / "fx" / "bridge_stp" / "fix.py").write_text(STP_FIX)
    sg("run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}')
    result = sg("run", "bridge_stp", "--phenotype", "dell_r740", "--no-wait", "--engine", "fixture", "--fixture-dir", str(tmp_path / "fx"),
                "--input", '{"bridge": "br0", "enabled": true}')
    assert json.loads(result.output)["ok"]
    states = {s.state for a, s in phenostore.read_phenotype(genome, "dell_r740").locus("bridge_stp").alleles.items() if read_lineage(genome, "bridge_stp", a).origin == "mutation"}
    assert states == {"recessive"}


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


def test_run_with_the_anthropic_engine_through_the_stand_in(here: Path, standin: StandIn) -> None:
    genome = Genome.open(here)
    broken = only_broken_stp(genome)
    standin.queue(message(f"Here is the fix.\n\n```python\n{STP_FIX}```\n"))
    sg("run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}')
    env = {"ANTHROPIC_API_KEY": "sk-standin", "ANTHROPIC_BASE_URL": standin.url, "SGGIT_ANTHROPIC_MODEL": "claude-standin-1"}
    result = sg("run", "bridge_stp", "--phenotype", "dell_r740", "--no-wait", "--engine", "auto", "--input", '{"bridge": "br0", "enabled": true}', env=env)
    assert json.loads(result.output)["ok"]
    assert len(standin.requests) == 1
    mutant = next(a for a in phenostore.read_phenotype(genome, "dell_r740").locus("bridge_stp").stack if a != broken)
    lineage = read_lineage(genome, "bridge_stp", mutant)
    assert lineage.engine == "anthropic" and lineage.model == "claude-standin-1" and lineage.parents == [broken]
    assert getattr(lineage, "prompt_hash", None)
    record = json.loads(sg("corpus", "export").output.splitlines()[-1])
    assert record["allele"] == mutant and record["engine"] == "anthropic" and record["parent"] == broken
    assert record["outcome"] == {"dell_r740": "recessive"} and "this allele is broken" in record["failure"]["error"]
    assert "gene bridge_stp" in record["contract"] and record["generated_source"] == STP_FIX


def variant(locus: str) -> str:
    """The shipped seed of `locus`, re-worded: a different allele that meets every example."""
    return (shipped_root() / "genome" / locus / "seed.py").read_text().replace("def execute(", "def execute(  ", 1)


def fixtures(tmp_path: Path, locus: str, *sources: str) -> str:
    folder = tmp_path / "fx" / locus
    folder.mkdir(parents=True)
    for name, source in zip("abcdef", sources, strict=False):
        (folder / f"{name}.py").write_text(source)
    return str(tmp_path / "fx")


def test_generate_puts_candidates_that_pass_every_example_into_the_fallback_stack(here: Path, tmp_path: Path) -> None:
    fx = fixtures(tmp_path, "bridge_create", variant("bridge_create"), RAISES.lstrip())
    total = len(load_tree(here / "contracts").genes["bridge_create"].examples)
    out = sg("generate", "bridge_create", "--phenotype", "dell_r740", "-n", "2", "--engine", "fixture", "--fixture-dir", fx).output
    lines = out.splitlines()
    assert len(lines) == 2
    assert f"recessive from fixture: examples {total}/{total}" in lines[0] and f"shadow from fixture: examples 0/{total}" in lines[1]
    entry = phenostore.read_phenotype(Genome.open(here), "dell_r740").locus("bridge_create")
    good, bad = (line.split()[0] for line in lines)
    assert any(a.startswith(good) for a in entry.stack[1:])  # low risk: in the stack, earning fitness behind the dominant
    assert not any(a.startswith(bad) for a in entry.stack)
    assert [s.state for a, s in entry.alleles.items() if a.startswith(bad)] == ["shadow"]


def test_generate_at_a_high_risk_locus_waits_as_canary_for_review(here: Path, tmp_path: Path) -> None:
    fx = fixtures(tmp_path, "mac_preserve", variant("mac_preserve"))
    out = sg("generate", "mac_preserve", "--phenotype", "dell_r740", "-n", "1", "--engine", "fixture", "--fixture-dir", fx).output
    made = out.split()[0]
    assert f"{made} canary from fixture" in out
    entry = phenostore.read_phenotype(Genome.open(here), "dell_r740").locus("mac_preserve")
    # high risk: a canary, out of the stack; at a review locus it waits for its merge before any real run
    assert not entry.dominant.startswith(made) and not any(a.startswith(made) for a in entry.stack)
    assert [s.state for a, s in entry.alleles.items() if a.startswith(made)] == ["canary"]
    promoted = sg("promote", "--phenotype", "dell_r740").output
    assert f"sggit: promote mac_preserve to {made}" in promoted and "waits for review" in promoted


def test_generate_with_an_engine_that_cannot_write_from_a_contract_says_so_and_fails(here: Path) -> None:
    result = sg("generate", "bridge_create", "--phenotype", "dell_r740", "--engine", "gp", code=1)
    assert "the gp engine proposed no allele for bridge_create" in result.output and "contract alone" in result.output


def test_generate_without_an_api_key_points_to_an_engine_that_can_generate(here: Path, tmp_path: Path) -> None:
    result = sg("generate", "bridge_create", "--phenotype", "dell_r740", "--engine", "anthropic", code=2)
    assert "the anthropic engine needs an API key" in result.output
    offered = re.findall(r"--engine (\w+) (\w+)", result.output.split("hint: ", 1)[1])
    assert ("gp", "repairs") in offered, "gp is offered for repairs only: it cannot write from a contract"
    others = [name for name, _ in offered if name != "gp"]
    assert others == ["fixture"]
    fx = fixtures(tmp_path, "bridge_create", variant("bridge_create"))
    out = sg("generate", "bridge_create", "--phenotype", "dell_r740", "-n", "1", "--engine", others[0], "--fixture-dir", fx).output
    assert "recessive from fixture" in out


def test_generate_sends_the_generation_prompt_not_the_repair_prompt(here: Path, standin: StandIn) -> None:
    standin.queue(message(f"Two approaches.\n\n```python\n{variant('bridge_create')}```\n\n```python\n{RAISES.lstrip()}```\n"))
    env = {"ANTHROPIC_API_KEY": "sk-standin", "ANTHROPIC_BASE_URL": standin.url, "SGGIT_ANTHROPIC_MODEL": "claude-standin-1"}
    out = sg("generate", "bridge_create", "--phenotype", "dell_r740", "-n", "2", "--engine", "anthropic", env=env).output
    assert len(standin.requests) == 1
    prompt = json.dumps(standin.requests[0].body)
    assert "2 different implementations" in prompt and "genuinely" in prompt
    assert "could handle an input" not in prompt and "failed" not in prompt.split("## ")[0]
    assert "recessive from anthropic" in out


def test_user_mistakes_are_clear_errors(here: Path, tmp_path: Path) -> None:
    assert "unknown locus" in sg("heal", "nope", "--phenotype", "dell_r740", "--engine", "gp", code=2).output
    assert "needs a mutation engine" in sg("heal", "bridge_create", "--phenotype", "dell_r740", "--engine", "none", code=2).output
    missing = str(tmp_path / "no-fixtures")
    assert "fixture directory" in sg("heal", "bridge_create", "--phenotype", "dell_r740", "--engine", "fixture", "--fixture-dir", missing, code=2).output
    out = tmp_path / "corpus.jsonl"
    sg("corpus", "export", "--out", str(out))
    assert out.read_text() == ""
