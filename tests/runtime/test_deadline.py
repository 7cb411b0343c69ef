"""A `within` window is a deadline: polled with backoff, ended by the first passing poll."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sggit.genome.fitness import Record
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.runtime.deadline import Backoff, converge, host_settled
from sggit.runtime.sandbox import WorkerPool
from tests.helpers import sg
from tests.runtime.helpers import organism


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def poller(clock: FakeClock, healthy_from: int | None, monitor: float = 0.0) -> tuple[Callable[[], tuple[bool, list, Callable[[], None]]], list[int], list[int]]:
    """A check that monitors for `monitor` seconds and is healthy from its `healthy_from`-th poll on."""
    polls: list[int] = []
    committed: list[int] = []

    def poll() -> tuple[bool, list, Callable[[], None]]:
        polls.append(len(polls) + 1)
        clock.t += monitor
        number = polls[-1]
        healthy = healthy_from is not None and number >= healthy_from
        return healthy, [{"poll": number}], lambda: committed.append(number)

    return poll, polls, committed


def test_a_check_that_passes_at_once_ends_the_window_without_sleeping() -> None:
    clock = FakeClock()
    poll, _, committed = poller(clock, healthy_from=1)
    verdict = converge(poll, 30.0, clock)
    assert verdict.healthy and verdict.polls == 1 and verdict.waited == 0.0
    assert clock.sleeps == [] and committed == [1]


def test_polls_back_off_and_stop_at_the_first_pass() -> None:
    clock = FakeClock()
    poll, _, committed = poller(clock, healthy_from=4)
    verdict = converge(poll, 30.0, clock, backoff=Backoff(first=0.5, factor=2.0, cap=5.0))
    assert verdict.healthy and verdict.polls == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert verdict.waited == 3.5
    assert committed == [4]  # the undecided polls leave no record


def test_an_unhealthy_check_is_the_verdict_at_the_deadline_and_only_that_poll_counts() -> None:
    clock = FakeClock()
    poll, _, committed = poller(clock, healthy_from=None)
    verdict = converge(poll, 10.0, clock, backoff=Backoff(first=1.0, factor=2.0, cap=4.0))
    # polls at 0, 1, 3, 7, then the last sleep is cut to the deadline: 10
    assert clock.sleeps == [1.0, 2.0, 4.0, 3.0]
    assert verdict.polls == 5 and not verdict.healthy and verdict.timed_out
    assert verdict.waited == 10.0 and committed == [5]


def test_a_stopped_window_makes_no_further_poll_and_commits_nothing() -> None:
    clock = FakeClock()
    poll, polls, committed = poller(clock, healthy_from=None, monitor=10.0)
    verdict = converge(poll, 30.0, clock, stop=lambda: len(polls) >= 1)
    # the poll in progress ends; then no sleep, no second poll, no verdict that counts
    assert polls == [1] and clock.sleeps == [] and committed == []
    assert not verdict.healthy and not verdict.timed_out and verdict.results == []


def test_a_monitoring_check_spends_its_own_time_inside_each_poll() -> None:
    clock = FakeClock()
    poll, _, committed = poller(clock, healthy_from=None, monitor=10.0)
    verdict = converge(poll, 30.0, clock, backoff=Backoff(first=1.0, factor=2.0, cap=5.0))
    # 0-10 monitor, sleep 1, 11-21, sleep 2, 23-33: past the deadline, so that poll decides
    assert verdict.polls == 3 and clock.sleeps == [1.0, 2.0]
    assert clock.t == 33.0 and committed == [3]


def test_checks_wait_for_a_host_in_transition_and_run_once_it_settles() -> None:
    clock = FakeClock()
    poll, _, _ = poller(clock, healthy_from=1)
    verdict = converge(poll, 30.0, clock, settled=lambda: clock.t >= 6, backoff=Backoff(first=1.0, factor=2.0, cap=5.0))
    assert clock.sleeps == [1.0, 2.0, 4.0] and verdict.polls == 1 and verdict.waited == 7.0


def test_a_host_that_never_settles_is_judged_at_the_deadline() -> None:
    clock = FakeClock()
    poll, _, committed = poller(clock, healthy_from=None)
    verdict = converge(poll, 5.0, clock, settled=lambda: False, backoff=Backoff(first=2.0, factor=1.0, cap=2.0))
    assert clock.sleeps == [2.0, 2.0, 1.0] and verdict.polls == 1 and committed == [1]


def test_progress_says_what_is_waited_for_and_how_long() -> None:
    clock = FakeClock()
    poll, _, _ = poller(clock, healthy_from=3)
    lines: list[str] = []
    converge(poll, 30.0, clock, progress=lines.append, label="verify check_fdb_stability on mgmt", backoff=Backoff(first=2.0, factor=2.0))
    assert lines == ["verify check_fdb_stability on mgmt: 2 s of 30 s", "verify check_fdb_stability on mgmt: 6 s of 30 s"]


# -- on the organism, with the mock's virtual clock ---------------------------------------

NO_STP = {"management_bridge": "mgmt", "uplink_interface": "eno1", "stp_enabled": False}


def convergence(genome: Genome, locus: str) -> list[Record]:
    return [r for r in pending_records(genome) if r.locus == locus and r.timescale == "convergence"]


def test_with_stp_off_a_pathway_costs_only_its_checks_own_monitoring_time(project: Path, pool: WorkerPool) -> None:
    org, kernel = organism(project, pool)
    lines: list[str] = []
    org.progress = lines.append
    result = org.run("provision_management_bridge", NO_STP)
    assert result.ok and result.verification is not None and result.verification["healthy"]
    assert host_settled(kernel)
    # check_fdb_stability (bridge_uplink) 10 s, then check_mac_stability (mac_preserve, the final
    # mutation) and the pathway's check_fdb_stability 10 s side by side: every window ended by its
    # first poll, nothing slept
    assert kernel.now() == 2 * 10
    assert lines == []


def test_a_lying_uplink_is_polled_to_the_deadline_and_scored_once(project: Path, pool: WorkerPool) -> None:
    org, kernel = organism(project, pool)
    kernel.inject("reflecting_switch")
    assert org.run("bridge_create", {"bridge_name": "mgmt", "interfaces": ["eno2"]}).ok
    before = kernel.now()
    lines: list[str] = []
    org.progress = lines.append
    org.run("bridge_uplink", {"bridge": "mgmt", "uplink": "eno1", "previous_uplink": "eno2"})
    uplink = convergence(org.genome, "bridge_uplink")
    assert [r.ok for r in uplink] == [False]  # many polls, one verdict
    # fdb monitoring 10 s per poll against a 30 s deadline: polls at 0-10, 10.5-20.5, 21.5-31.5
    assert kernel.now() - before == 31.5
    assert lines == ["verify check_fdb_stability, check_link_state on mgmt: 10 s of 30 s", "verify check_fdb_stability, check_link_state on mgmt: 22 s of 30 s"]


def test_a_second_deploy_that_changes_nothing_sleeps_no_window(project: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from sggit.runtime.session import mock_state_path

    monkeypatch.chdir(project)
    state = mock_state_path(Genome.open(project), "dell_r740")
    first = sg("deploy", "production_server", "--phenotype", "dell_r740", "--progress")
    # the management bridge runs STP: its checks wait (with progress) for the ports to forward
    assert "verify" in first.stderr and " s of 30 s" in first.stderr
    clock = json.loads(state.read_text())["clock"]
    again = sg("deploy", "production_server", "--phenotype", "dell_r740", "--progress")
    assert again.output.count("unchanged") == 5, again.output
    # only the answered probes' round trips pass: no backoff step, no monitoring second
    assert json.loads(state.read_text())["clock"] - clock < 0.01
    assert again.stderr == ""
    quiet = sg("run", "check_link_state", "--input", '{"device": "management"}', "--phenotype", "dell_r740")
    assert quiet.stderr == ""
    loud = sg("deploy", "production_server", "--phenotype", "dell_r740", env={"SGGIT_PROGRESS": "1"})  # `sggit --progress deploy`
    assert "sggit: deploying production_server on dell_r740 (mock kernel) ..." in loud.stderr, loud.stderr


def test_a_held_back_poll_records_nothing_and_breeds_nothing_until_committed(project: Path, pool: WorkerPool, tmp_path: Path) -> None:
    from sggit.engines.fixture import FixtureEngine
    from sggit.genome import phenostore
    from sggit.genome.lineage import read_lineage

    from .helpers import RAISES, STP_FIX, add_allele, without_reexpression

    genome = Genome.open(project)
    broken = add_allele(genome, "bridge_stp", RAISES, state="dominant")
    for allele in phenostore.read_phenotype(genome, "dell_r740").locus("bridge_stp").stack[1:]:
        phenostore.demote(genome, "dell_r740", "bridge_stp", allele)
    without_reexpression(genome)
    (tmp_path / "fx" / "bridge_stp").mkdir(parents=True)
    (tmp_path / "fx" / "bridge_stp" / "fix.py").write_text(STP_FIX)
    org, kernel = organism(project, pool)
    org.engine = FixtureEngine(tmp_path / "fx", state_dir=tmp_path / "state")  # would repair it outside a poll
    kernel.create_bridge("br0")
    before = len(pending_records(genome))

    (holding, step), commit = org.tentatively(lambda: (org.holding(), org.run_locus("bridge_stp", {"bridge": "br0", "enabled": True})))
    assert holding and not org.holding()
    assert not step.ok and len(pending_records(genome)) == before
    assert not [a for a in org.phenotype().locus("bridge_stp").alleles if getattr(read_lineage(genome, "bridge_stp", a), "origin", None) == "mutation"]

    commit()
    assert [(r.allele, r.ok) for r in pending_records(genome)[before:] if r.locus == "bridge_stp"] == [(broken, False)]


def test_a_discarded_poll_reinstates_no_allele_it_re_expressed(project: Path, pool: WorkerPool) -> None:
    from sggit.genome import phenostore

    from .helpers import RAISES, add_allele

    genome = Genome.open(project)
    seed = phenostore.read_phenotype(genome, "dell_r740").locus("check_link_state").dominant
    assert seed is not None
    add_allele(genome, "check_link_state", RAISES, state="dominant")
    phenostore.set_lifecycle(genome, "dell_r740", "check_link_state", seed, "deprecated")
    org, _ = organism(project, pool)

    def state() -> str:
        return org.phenotype().locus("check_link_state").alleles[seed].state

    (outcome, _), discard = org.tentatively(lambda: (org.run_locus("check_link_state", {"device": "eno1"}), None))
    assert outcome.ok and outcome.allele == seed  # the deprecated seed answered the poll
    assert state() == "deprecated"  # and nothing changed while the poll could still be discarded
    (again, _), commit = org.tentatively(lambda: (org.run_locus("check_link_state", {"device": "eno1"}), None))
    assert again.allele == seed and state() == "deprecated"
    commit()
    assert state() == "recessive"
