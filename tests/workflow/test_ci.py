"""`sggit ci check` on pull requests of a genome repository, and `sggit ci promote` writing PR branches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sggit.genome.alleles import alleles_at
from sggit.genome.fitness import Record
from sggit.genome.repo import Genome
from sggit.genome.sync import record
from sggit.shipped import shipped_root
from tests.helpers import sggit
from tests.workflow.helpers import PHENOTYPE, git, identity, sggit_json

WRONG = '''import json


def execute(input_json):
    return json.dumps({"success": True, "changed": True, "resources_created": ["elsewhere"]})
'''
# the shipped seed, re-worded: passes every example, so only the replayed failures can stop it
RIGHT = (shipped_root() / "genome" / "bridge_create" / "seed.py").read_text().replace("def execute(", "def execute(  ", 1)


@pytest.fixture
def pr(genome_project: Path) -> Path:
    git(genome_project, "checkout", "-q", "-b", "change")
    return genome_project


def test_clean_genome_passes_every_stage(genome_project: Path) -> None:
    result = sggit_json(genome_project, "ci", "check")
    assert result["ok"] is True
    assert {s["name"]: s["status"] for s in result["stages"]} == {"check": "ok", "format": "ok", "examples": "ok", "shadow replay": "ok"}


def test_broken_contract_in_a_pull_request_is_located(pr: Path) -> None:
    path = pr / "contracts/genes/bridge_uplink.sg"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "  bogus\n" + "".join(lines[1:]))
    git(pr, "commit", "-qam", "break")
    result = sggit_json(pr, "ci", "check", "--base", "main", code=None)
    assert result["ok"] is False
    assert result["changed"] == ["contracts/genes/bridge_uplink.sg"]
    blocking = [f for f in result["findings"] if f["blocking"]]
    assert blocking[0]["where"].endswith("contracts/genes/bridge_uplink.sg:2:3")
    assert {s["name"]: s["status"] for s in result["stages"]}["examples"] == "skipped"
    md = sggit(pr, "ci", "check", "--base", "main", "--format", "markdown", code=None)
    assert md.returncode == 1 and "## sggit ci check: failed" in md.stdout and "| check | ❌ failed |" in md.stdout


def test_new_allele_failing_an_example_blocks_and_only_touched_loci_run(pr: Path) -> None:
    (pr / "genome/bridge_create/b_wrong.py").write_text(WRONG)
    git(pr, "add", "-A")
    git(pr, "commit", "-qm", "new allele")
    result = sggit_json(pr, "ci", "check", "--base", "main", code=None)
    assert result["ok"] is False
    failing = [f for f in result["findings"] if f["stage"] == "examples"]
    assert {f["where"] for f in failing} == {"genome/bridge_create/b_wrong.py (bridge_create)"}
    assert any('expected ["br-example"], got ["elsewhere"]' in f["message"] for f in failing)
    examples = next(s for s in result["stages"] if s["name"] == "examples")
    assert examples["summary"].startswith("2 alleles at 1 loci")


def test_shadow_replay_runs_new_alleles_on_recorded_failures(pr: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGGIT_HOST", "testhost")
    genome = Genome.open(pr)
    seed = alleles_at(genome, "bridge_create")[0]
    record(genome, Record(allele=seed, locus="bridge_create", ok=False, error="boom", input={"bridge_name": "br-replay", "interfaces": []}))
    record(genome, Record(allele=seed, locus="bridge_create", ok=False, error="boom", input={"bridge_name": 7}))
    (pr / "genome/bridge_create/b_right.py").write_text(RIGHT)
    git(pr, "add", "-A")
    git(pr, "commit", "-qm", "new allele")
    result = sggit_json(pr, "ci", "check", "--base", "main")
    replay = next(s for s in result["stages"] if s["name"] == "shadow replay")
    # Only the last failure per allele is kept by the fitness counters: the invalid input.
    assert replay["summary"].startswith("1 recorded failing inputs replayed on new alleles, 1 still failing")
    shadow = [f for f in result["findings"] if f["stage"] == "shadow replay"]
    assert shadow[0]["blocking"] is False and ": input is invalid: bridge_name: expected string" in shadow[0]["message"]


def test_ci_check_with_unknown_base_is_a_usage_error(genome_project: Path) -> None:
    done = sggit(genome_project, "ci", "check", "--base", "no-such-branch", code=None)
    assert done.returncode == 2 and "cannot diff against no-such-branch" in done.stderr and "Traceback" not in done.stderr


def test_a_base_that_does_not_exist_is_named_with_the_branches_that_do(tmp_path: Path) -> None:
    """A repository on `master` with no remote: git's diff would answer `--base origin/main` with its usage line."""
    root = tmp_path / "on-master"
    root.mkdir()
    git(root, "init", "-q", "-b", "master")
    identity(root)
    sggit(root, "init", "--no-hook")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "genome")
    done = sggit(root, "ci", "check", "--base", "origin/main", "--no-examples", code=2)
    assert "sggit: error: cannot diff against origin/main: there is no revision origin/main here" in done.stderr
    assert "hint: branches here: master;" in done.stderr and "--base" in done.stderr.split("hint:")[1]
    assert "git <command>" not in done.stderr and "phenotype/" not in done.stderr.split("hint:")[1]
    assert sggit(root, "ci", "check", "--base", "master", "--no-examples").returncode == 0


def test_ci_promote_refuses_an_unknown_remote_before_writing_anything(promotable: tuple[Path, str], tmp_path: Path) -> None:
    root, _ = promotable
    out = tmp_path / "prs"
    done = sggit(root, "ci", "promote", "--out", str(out), "--push", "nosuchremote", code=2)
    assert "sggit: error: no remote named nosuchremote" in done.stderr
    assert "git remote add nosuchremote URL" in done.stderr and "no pending promotion" not in done.stdout
    assert git(root, "for-each-ref", "refs/heads/sggit/promote/") == "" and not out.exists()


def test_ci_promote_with_nothing_pending_still_refuses_an_unknown_remote(genome_project: Path, tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(genome_project, "remote", "add", "origin", str(bare))
    done = sggit(genome_project, "ci", "promote", "--out", str(tmp_path / "prs"), "--push", "nosuchremote", code=2)
    assert "no remote named nosuchremote" in done.stderr and "configured remotes: origin" in done.stderr
    assert "no pending promotion" in sggit(genome_project, "ci", "promote", "--out", str(tmp_path / "prs"), "--push", "origin").stdout


def test_ci_promote_writes_and_pushes_promotion_branches(promotable: tuple[Path, str], tmp_path: Path) -> None:
    root, mutant = promotable
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(root, "remote", "add", "origin", str(bare))
    out = tmp_path / "prs"
    listed = sggit_json(root, "ci", "promote", "--phenotype", PHENOTYPE, "--out", str(out), "--push", "origin")
    assert [(p["locus"], p["allele"], p["pushed"]) for p in listed] == [("check_link_state", mutant, True)]
    promo = listed[0]
    assert promo["base"] == f"phenotype/{PHENOTYPE}"
    assert git(bare, "rev-parse", promo["branch"]) == promo["commit"]
    assert json.loads((out / "promotions.json").read_text())[0]["branch"] == promo["branch"]
    assert mutant[:12] in Path(promo["body_file"]).read_text()
    # What a reviewer reads: the head's dominant line, and the two alleles' small files.
    old = git(root, "show", f"{promo['base']}:phenotypes/{PHENOTYPE}.toml").split('[loci.check_link_state]\ndominant = "')[1][:40]
    stat = git(root, "diff", "--numstat", promo["base"], promo["commit"]).splitlines()
    allele_file = f"phenotypes/{PHENOTYPE}/check_link_state/{{0}}/{{1}}.toml".format
    assert {line.split("\t")[2]: line.split("\t")[:2] for line in stat} == {
        f"phenotypes/{PHENOTYPE}.toml": ["1", "1"],
        allele_file(mutant[:2], mutant[2:]): ["1", "2"],
        allele_file(old[:2], old[2:]): ["2", "1"],
    }
    assert git(bare, "rev-parse", promo["base"]) == git(root, "rev-parse", promo["base"]), "the PR's base is on the remote"
    # The same promotion again: no new commit, so the PR and its rollback id stay put.
    again = sggit_json(root, "ci", "promote", "--phenotype", PHENOTYPE, "--out", str(out), "--push", "origin")
    assert again[0]["commit"] == promo["commit"] and again[0]["unchanged"] is True
    assert git(bare, "rev-parse", promo["branch"]) == promo["commit"]
    text = sggit(root, "ci", "promote", "--phenotype", PHENOTYPE, "--out", str(out), "--push", "origin").stdout
    assert "unchanged since the last run, on origin" in text


def test_promote_twice_writes_one_commit_and_body_out_says_when_nothing_waits(promotable: tuple[Path, str], tmp_path: Path) -> None:
    root, mutant = promotable
    first = sggit_json(root, "promote", "--phenotype", PHENOTYPE)
    second = sggit_json(root, "promote", "--phenotype", PHENOTYPE)
    assert [w["commit"] for w in second] == [w["commit"] for w in first] and second[0]["unchanged"] is True
    assert git(root, "rev-list", "--count", f"phenotype/{PHENOTYPE}..{first[0]['branch']}") == "1"


def test_body_out_with_nothing_pending_says_so(genome_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "pr.md"
    done = sggit(genome_project, "promote", "--phenotype", PHENOTYPE, "--body-out", str(out))
    assert not out.exists()
    assert f"no pending promotion on {PHENOTYPE}; {out} not written" in done.stderr


def test_text_output_is_located_with_repository_paths_caret_and_hint(pr: Path) -> None:
    path = pr / "contracts/genes/bridge_uplink.sg"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "  bogus\n" + "".join(lines[1:]))
    git(pr, "commit", "-qam", "break")
    done = sggit(pr, "ci", "check", "--base", "main", code=None)
    assert done.returncode == 1
    out = done.stdout.splitlines()
    first = next(i for i, line in enumerate(out) if line.startswith("contracts/genes/bridge_uplink.sg:2:3: check: unexpected `bogus`"))
    assert out[first + 1] == "    bogus" and out[first + 2] == "    ^"
    assert out[first + 3].startswith("  hint: expected ")
    assert str(pr) not in done.stdout


def test_ci_examples_speaks_json(genome_project: Path) -> None:
    (genome_project / "genome/bridge_create/b_wrong.py").write_text(WRONG)
    done = sggit(genome_project, "ci", "examples", "genome/bridge_create/b_wrong.py", "--format", "json", code=None)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["alleles"] == 1 and data["loci"] == ["bridge_create"]
    assert {f["where"] for f in data["findings"]} == {"genome/bridge_create/b_wrong.py (bridge_create)"}  # one finding per failed example


BOTH_LOCI = '''import json


def execute(input_json):
    data = json.loads(input_json)
    if "device" in data:
        return json.dumps({"healthy": True, "exists": True, "state": "up", "mtu": 1500, "mac": None})
    return json.dumps({"healthy": True, "mode": None, "active_member": None, "members_up": 0, "members_total": 0})
'''


def test_a_phenotype_change_may_express_one_source_at_each_locus_it_is_registered_at(pr: Path) -> None:
    source = pr.parent / "both.py"
    source.write_text(BOTH_LOCI)
    for locus in ("check_bond_state", "check_link_state"):
        sggit(pr, "register", locus, str(source), "--phenotype", PHENOTYPE)
    git(pr, "checkout", f"phenotype/{PHENOTYPE}", "--", "phenotypes/")  # the map's head and its allele files
    git(pr, "commit", "-qm", "express both.py at both loci")
    done = sggit(pr, "ci", "check", "--base", "main", code=None)
    assert "is registered at" not in done.stdout, done.stdout
    # Judged at each locus by that locus's examples (this source only pretends to inspect anything).
    assert "(check_link_state): examples:" in done.stdout and "(check_bond_state): examples:" in done.stdout
