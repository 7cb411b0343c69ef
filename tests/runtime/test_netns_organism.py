"""The organism on the real kernel: provision_management_bridge in a throwaway network namespace.

Verify windows are real time on the netlink kernel, so the run records them as
due (`--no-wait`) and the test checks the wall-clock bookkeeping instead of
sleeping 30 seconds; the diagnostics themselves run for real.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from sggit.contract.tree import load_tree
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.kernel.netlink import NetlinkKernel
from sggit.runtime.organism import Organism
from sggit.runtime.sandbox import WorkerPool
from sggit.runtime.temporal import pending_due
from tests.kernel.conftest import Namespaces, _sh, netns  # noqa: F401  (the fixture, reused)


def test_provision_management_bridge_for_real(project: Path, pool: WorkerPool, netns: Namespaces) -> None:  # noqa: F811
    genome = Genome.open(project)
    uplink_mac = netns.link("eth0")["address"]
    with NetlinkKernel(netns.host) as kernel:
        org = Organism(genome, load_tree(project / "contracts"), "dell_r740", kernel, pool, wait_verify=False, timeout=20.0)
        producer = org.phenotype().locus("bridge_create").dominant
        result = org.run("provision_management_bridge", {"management_bridge": "mgmt", "uplink_interface": "eth0", "stp_enabled": False})
        assert result.ok, result.pathway.as_json() if result.pathway else result.error
        assert [s.status for s in result.pathway.steps] == ["ok"] * 4  # type: ignore[union-attr]

        bridge = netns.link("mgmt")
        assert bridge["linkinfo"]["info_kind"] == "bridge"
        assert bridge["address"] == uplink_mac  # mac_preserve kept the host's identity
        assert "UP" in bridge["flags"]
        assert netns.link("eth0")["master"] == "mgmt"
        assert [p["ifname"] for p in netns.bridge("link", "show") if p.get("master") == "mgmt"] == ["eth0"]

        # verify windows are on the wall clock: recorded, not yet due
        due = pending_due(genome, "dell_r740")
        assert {e.target for e in due} == {"bridge_create", "bridge_uplink", "mac_preserve", "provision_management_bridge"}
        assert all(e.clock == "wall" and 25 < e.due - time.time() <= 30 for e in due)
        assert {r["status"] for r in org.verify_due()} == {"not due"}

        # a real diagnostic on the real bridge feeds the allele that built it: step 4, then this one
        check = org.run("check_link_state", {"device": "mgmt"})
        assert check.ok and check.output["healthy"] is True and check.output["mac"] == uplink_mac
        fed = [(r.allele, r.ok) for r in pending_records(genome) if r.locus == "bridge_create" and r.timescale == "convergence"]
        assert fed == [(producer, True)] * 2


def test_with_stp_off_every_verify_window_ends_at_its_first_poll_on_a_real_kernel(project: Path, pool: WorkerPool, netns: Namespaces) -> None:  # noqa: F811
    """Windows are deadlines: on a bridge that forwards at once no window is waited for,
    only the diagnostics' own monitoring runs, and each verdict is recorded once."""
    genome = Genome.open(project)
    with NetlinkKernel(netns.host) as kernel:
        org = Organism(genome, load_tree(project / "contracts"), "dell_r740", kernel, pool, timeout=20.0)
        waited: list[str] = []
        org.progress = waited.append
        result = org.run("provision_management_bridge", {"management_bridge": "mgmt", "uplink_interface": "eth0", "stp_enabled": False})
        assert result.ok and result.verification is not None and result.verification["healthy"], result.verification
        assert waited == []  # progress is printed only while a window is waited for
        convergence = [(r.locus, r.ok) for r in pending_records(genome) if r.timescale == "convergence" and r.input.get("bridge", r.input.get("device")) == "mgmt"]
        # one verdict per check: bridge_create's link check, bridge_uplink's fdb + link checks, mac_preserve's, the pathway's fdb
        assert all(ok for _, ok in convergence)
        assert sorted({locus for locus, _ in convergence}) == ["bridge_create", "bridge_uplink", "mac_preserve"]
        assert pending_due(genome, "dell_r740") == []


def test_sggit_run_on_a_real_kernel_gives_a_monitoring_check_its_window_by_default(project: Path, netns: Namespaces) -> None:  # noqa: F811
    """`sggit run --kernel netlink` as README shows it, without --timeout: check_fdb_stability watches
    the bridge for its default 10 s of real time, which a mock-sized 5 s deadline would cut off."""
    from click.testing import CliRunner

    from sggit.cli import cli

    for args in (("link", "add", "mgmt", "type", "bridge"), ("link", "set", "eth0", "master", "mgmt"), ("link", "set", "mgmt", "up")):
        _sh("ip", "-n", netns.host, *args)
    done = CliRunner().invoke(cli, ["-C", str(project), "run", "check_fdb_stability", "--phenotype", "dell_r740",
                                    "--kernel", "netlink", "--netns", netns.host, "--input", '{"bridge": "mgmt"}'])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["ok"] is True and out["output"]["healthy"] is True and out["output"]["entry_count"] >= 1
