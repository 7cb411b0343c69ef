"""`sggit run` and `sggit test` from the command line: exit codes, output, trace, concurrency."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import subprocess
from collections import Counter
from pathlib import Path

from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from tests.helpers import descriptors_into, sg_in, sggit
from tests.runtime.helpers import add_allele


def test_run_prints_the_result_and_exits_0(project: Path) -> None:
    data = json.loads(sg_in(project, "run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": ["eno1"]}').stdout)
    assert data["ok"] is True and data["output"]["resources_created"] == ["br0"]


def test_the_mock_host_persists_between_runs(project: Path) -> None:
    args = ("run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}')
    sg_in(project, *args)
    again = sg_in(project, *args)  # the bridge the first run made is still there: re-applying changes nothing
    assert json.loads(again.stdout)["output"]["changed"] is False


def test_a_failed_run_exits_1_and_explain_shows_the_fallback(project: Path) -> None:
    genome = Genome.open(project)
    broken = add_allele(genome, "bridge_create", "def execute(input_json):\n    raise ValueError('nope')\n", state="dominant")
    err = sg_in(project, "run", "bridge_create", "--phenotype", "dell_r740", "--explain", "--input", '{"bridge_name": "br0", "interfaces": []}').stderr
    assert f"bridge_create allele {broken[:7]} [stack]" in err and 'failed (exception): its process said "ValueError: nope' in err
    assert "kernel changes: create_bridge" in err
    failed = sg_in(project, "run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": ["nosuch9"]}', code=1)
    assert json.loads(failed.stdout)["ok"] is False


def test_bad_usage_and_bad_input_exit_2(project: Path, tmp_path: Path) -> None:
    cases = [
        ("run", "bridge_create", "--phenotype", "dell_r740", "--input", "{not json"),
        ("run", "bridge_create", "--phenotype", "dell_r740", "--input", "{}"),
        ("run", "bridge_create", "--phenotype", "dell_r740", "--input", "[1, 2]"),
        ("run", "no_such_locus", "--phenotype", "dell_r740"),
        ("run", "bridge_create", "--phenotype", "nope", "--input", "{}"),
        ("run", "bridge_create", "--input", '{"bridge_name": "x", "interfaces": []}'),
        ("run", "bridge_create", "--phenotype", "dell_r740", "--input", f"@{tmp_path / 'missing.json'}"),
    ]
    messages = []
    for args in cases:
        messages.append(sg_in(project, *args, code=2).stderr)  # exit 2 and no traceback for every case
    assert "--input: not JSON" in messages[0]
    assert "bridge_name: required field is missing" in messages[1]
    assert "expected object, got list" in messages[2]
    assert "unknown locus or pathway no_such_locus" in messages[3]
    assert "no phenotype nope" in messages[4]
    assert "several phenotypes" in messages[5]
    assert "cannot read input file" in messages[6]
    assert [r for r in pending_records(Genome.open(project))] == []


def test_input_from_a_file(project: Path, tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"management_bridge": "mgmt", "uplink_interface": "eno2"}))
    out = sg_in(project, "run", "provision_management_bridge", "--phenotype", "dell_r740", "--input", f"@{path}").stdout
    assert json.loads(out)["pathway"]["status"] == "ok"


def test_sggit_test_prints_a_conformance_table(project: Path) -> None:
    genome = Genome.open(project)
    wrong = add_allele(genome, "bridge_create", "import json\ndef execute(input_json):\n    return json.dumps({'success': False, 'resources_created': [], 'error': 'no'})\n")
    lines = sg_in(project, "test", "bridge_create", "--phenotype", "dell_r740", code=1).stdout.splitlines()
    assert lines[0].split() == ["locus", "allele", "passed", "first", "failure"]
    row = next(line for line in lines if wrong[:12] in line)
    # it only matches the example where the interface belongs to another bridge (it never says `changed`)
    assert "1/8" in row and 'example 1: gene reported failure, gene said "no"' in row
    rows = json.loads(sg_in(project, "test", "bridge_create", "--phenotype", "dell_r740", "--format", "json", code=None).stdout)
    assert {r["allele"]: r["passed"] for r in rows}[wrong] == 1


def _worker(project: str, index: int, runs: int) -> None:
    from sggit.runtime.session import open_organism

    os.environ["SGGIT_HOST"] = "testhost"
    with open_organism(root=Path(project), phenotype="dell_r740", wait_verify=False) as organism:
        for i in range(runs):
            result = organism.run("check_link_state", {"device": f"eno{1 + (i % 4)}"})
            assert result.ok


def test_concurrent_runs_lose_no_fitness_record(project: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(project), i, 25)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    counts = Counter(r.allele for r in pending_records(Genome.open(project)) if r.locus == "check_link_state")
    assert list(counts.values()) == [100]


def test_console_script_exit_code_for_a_failed_run(project: Path) -> None:
    sggit(project, "run", "vlan_create", "--phenotype", "dell_r740", "--input", '{"parent_interface": "nosuch0", "vlan_id": 5}', code=1)  # exit 1, no traceback


def test_commands_run_in_one_process_leave_no_file_open(project: Path) -> None:
    """The demos and library callers open organism after organism in one process: each must close what it opened.

    The collector is held off, so descriptors count as closed only when something closed them."""
    bridge = ("run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}')
    pathway = ("run", "provision_management_bridge", "--phenotype", "dell_r740",
               "--input", '{"management_bridge": "mgmt", "uplink_interface": "eno2"}')
    counts = []
    gc.disable()
    try:
        for _ in range(3):
            for args in (bridge, pathway):
                sg_in(project, *args)
            counts.append(len(os.listdir("/proc/self/fd")))
    finally:
        gc.enable()
    assert counts[-1] == counts[0], counts
    assert (project / ".git" / "sggit" / "fusion-dell_r740.log").exists()  # the pathway run kept a streak


def test_an_organism_opened_and_closed_leaves_no_packfile_open(project: Path) -> None:
    """`open_organism` closes the genome it opened too: libgit2 keeps a packfile open per repository otherwise."""
    import subprocess

    from sggit.runtime.session import open_organism

    subprocess.run(["git", "gc", "-q"], cwd=project, check=True)
    packs = project / ".git" / "objects" / "pack"

    gc.disable()
    try:
        with open_organism(root=project, kernel="mock", phenotype="dell_r740") as org:
            assert org.run_locus("bridge_create", {"bridge_name": "br0", "interfaces": []}).ok
            assert descriptors_into(packs) > 0
        assert descriptors_into(packs) == 0
    finally:
        gc.enable()


def test_an_interface_name_the_kernel_would_refuse_is_the_callers_error_not_the_alleles(project: Path) -> None:
    """The shipped contracts type interface names `ifname`: a bad one never reaches an allele, so none is scored."""
    bad = sggit(project, "run", "bridge_create", "--phenotype", "dell_r740",
                "--input", '{"bridge_name": "management-bridge0", "interfaces": ["eno1", "a:b"]}', code=2)
    assert "invalid input for bridge_create" in bad.stderr
    assert "bridge_name: interface name 'management-bridge0' is longer than 15 bytes" in bad.stderr
    assert "interfaces[1]: interface name 'a:b' contains ':'" in bad.stderr
    pathway = sggit(project, "run", "provision_management_bridge", "--phenotype", "dell_r740",
                    "--input", '{"management_bridge": "my bridge", "uplink_interface": "eno1"}', code=2)
    assert "management_bridge: interface name 'my bridge' contains ' '" in pathway.stderr
    status = json.loads(sggit(project, "status", "--phenotype", "dell_r740", "--format", "json").stdout)
    rows = {row["locus"]: row for ph in status["phenotypes"] for row in ph["loci"]}
    assert rows["bridge_create"]["invocations"] == 0
    assert pending_records(Genome.open(project)) == []


def test_a_vlan_id_or_bond_mode_no_kernel_accepts_is_refused_before_any_allele_runs(project: Path) -> None:
    vlan = sggit(project, "run", "vlan_create", "--phenotype", "dell_r740",
                 "--input", '{"parent_interface": "eno1", "vlan_id": 5000}', code=2)
    assert "vlan_id: VLAN ID must be an integer from 1 to 4094, got 5000" in vlan.stderr
    bond = sggit(project, "run", "bond_create", "--phenotype", "dell_r740",
                 "--input", '{"bond_name": "bond0", "members": ["eno1"], "mode": "lacp"}', code=2)
    assert "mode: unknown bonding mode 'lacp'" in bond.stderr
    mac = sggit(project, "run", "mac_preserve", "--phenotype", "dell_r740",
                "--input", '{"bridge": "br0", "uplink": "eno1", "dhcp_lease_mac": "01:00:5e:00:00:01"}', code=2)
    assert "dhcp_lease_mac: 01:00:5e:00:00:01 is a multicast MAC and cannot be an interface address" in mac.stderr
    assert pending_records(Genome.open(project)) == []


def test_a_diagnostics_probe_target_or_watched_mac_no_kernel_accepts_is_refused_before_it_runs(project: Path) -> None:
    """A diagnostic given an address no kernel accepts is not run, so it is not scored for the caller's mistake."""
    probe = sggit(project, "run", "check_connectivity", "--phenotype", "dell_r740",
                  "--input", '{"source_interface": "eno1", "target": "10.0.0.300"}', code=2)
    assert "target: probe: target must be an IPv4 address, got '10.0.0.300'" in probe.stderr
    fdb = sggit(project, "run", "check_fdb_stability", "--phenotype", "dell_r740",
                "--input", '{"bridge": "br0", "target_mac": "aa:bb:cc"}', code=2)
    assert "target_mac: not a MAC address: 'aa:bb:cc' (expected aa:bb:cc:dd:ee:ff)" in fdb.stderr
    for count in (0, 21):  # no probe proves nothing; 21 one-second probes outlast netlink's 30 s timeout
        none = sg_in(project, "run", "check_connectivity", "--phenotype", "dell_r740",
                     "--input", json.dumps({"source_interface": "eno1", "count": count}), code=2)
        assert f"count: a probe count must be from 1 to 20, got {count}" in none.output, none.output
    assert pending_records(Genome.open(project)) == []
    gateway = json.loads(sggit(project, "run", "check_connectivity", "--phenotype", "dell_r740",
                               "--input", '{"source_interface": "eno1", "target": "gateway", "count": 1}').stdout)
    assert gateway["ok"] and gateway["output"]["healthy"] is True


def test_run_in_a_linked_worktree(project: Path, tmp_path: Path) -> None:
    """A linked worktree's git dir has no objects of its own: the genome is the common dir's."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-q", "--no-verify", "-m", "base"], cwd=project, check=True)
    subprocess.run([*git, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "side"], cwd=project, check=True)
    out = sggit(tmp_path / "wt", "run", "bridge_create", "--phenotype", "dell_r740", "--input", '{"bridge_name": "br0", "interfaces": []}')
    assert json.loads(out.stdout)["ok"] is True
    assert "bridge_create" in {r.locus for r in pending_records(Genome.open(project))}  # in the one journal
