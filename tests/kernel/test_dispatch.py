from __future__ import annotations

import pytest

from sggit.kernel.api import INTERFACE, MUTATING, Kernel, KernelError
from sggit.kernel.dispatch import make_handler, perform
from sggit.kernel.mock import MockKernel
from sggit.kernel.undo import UndoLog


@pytest.mark.parametrize("name", ["__class__", "__init__", "_link", "inject", "to_json", "state", "reboot", 7])
def test_only_interface_names_pass(mock: MockKernel, name: object) -> None:
    with pytest.raises(KernelError, match="not a gene_sdk operation"):
        perform(mock, name, [], {})  # type: ignore[arg-type]


def test_interface_is_exactly_the_abstract_methods() -> None:
    assert "create_bridge" in INTERFACE and "probe" in INTERFACE
    assert MUTATING <= INTERFACE
    assert not any(n.startswith("_") for n in INTERFACE)
    assert INTERFACE == frozenset(Kernel.__abstractmethods__)


def test_bad_arguments_name_the_signature(mock: MockKernel) -> None:
    with pytest.raises(KernelError, match=r"set_mtu\(name, mtu\)"):
        perform(mock, "set_mtu", ["eth0"], {})
    with pytest.raises(KernelError, match="unexpected keyword"):
        perform(mock, "get_link", [], {"name": "eth0", "colour": "red"})
    with pytest.raises(KernelError, match="must be a list"):
        perform(mock, "get_link", "eth0", {})


def test_mutating_call_records_inverse_from_prior_state(mock: MockKernel) -> None:
    log = UndoLog()
    old = mock.get_link("eth0")["mac"]
    perform(mock, "set_mac", ["eth0", "02:00:00:00:00:99"], {}, log)
    assert mock.get_link("eth0")["mac"] == "02:00:00:00:00:99"
    assert [s.describe() for s in log.entries[0].steps] == [f"set_mac('eth0', '{old}')"]


def test_reads_leave_no_entry(mock: MockKernel) -> None:
    log = UndoLog()
    perform(mock, "list_links", [], {}, log)
    assert len(log) == 0


def test_failed_call_leaves_no_entry(mock: MockKernel) -> None:
    log = UndoLog()
    with pytest.raises(KernelError, match="no such interface"):
        perform(mock, "set_mtu", ["nope", 1400], {}, log)
    with pytest.raises(KernelError, match="already exists"):
        perform(mock, "create_bridge", ["eth0"], {}, log)
    assert len(log) == 0


def test_handler_plugs_in_as_name_args_kwargs(mock: MockKernel) -> None:
    log = UndoLog()
    handler = make_handler(mock, log)
    result = handler("create_bridge", ["br9"], {"stp": True})
    assert result["kind"] == "bridge"
    assert handler("get_stp", ["br9"], {})["enabled"] is True
    assert [e.op for e in log.entries] == ["create_bridge"]
    assert log.rollback(mock) == []
    with pytest.raises(KernelError, match="no such interface"):
        mock.get_link("br9")


def test_rollback_reports_failures_and_keeps_going(mock: MockKernel) -> None:
    log = UndoLog()
    handler = make_handler(mock, log)
    handler("set_mtu", ["eth1", 9000], {})
    handler("create_bridge", ["br1"], {})
    mock.delete_bridge("br1")  # someone else removes it behind the transaction's back
    failures = log.rollback(mock)
    assert len(failures) == 1
    assert failures[0].step == "delete_bridge('br1')"
    assert "no such interface" in failures[0].error
    assert mock.get_link("eth1")["mtu"] == 1500
    assert len(log) == 0


def test_savepoint_rolls_back_only_later_entries(mock: MockKernel) -> None:
    log = UndoLog()
    handler = make_handler(mock, log)
    handler("set_mtu", ["eth0", 1400], {})
    mark = log.mark()
    handler("set_mtu", ["eth0", 1300], {})
    assert log.rollback(mock, to=mark) == []
    assert mock.get_link("eth0")["mtu"] == 1400
    assert len(log) == 1


def test_undo_log_survives_json(mock: MockKernel) -> None:
    log = UndoLog()
    perform(mock, "create_bridge", ["br2"], {}, log)
    perform(mock, "add_port", ["br2", "eth2"], {}, log)
    revived = UndoLog.from_json(log.to_json())
    assert revived.rollback(mock) == []
    assert mock.get_link("eth2")["master"] is None
    assert "br2" not in [link["name"] for link in mock.list_links()]


def test_irreversible_delete_is_refused_before_anything_changes(mock: MockKernel) -> None:
    log = UndoLog()
    with pytest.raises(KernelError, match="could not be undone"):
        perform(mock, "delete_link", ["eth0"], {}, log)
    assert mock.get_link("eth0")["name"] == "eth0"


class _SlowMock(MockKernel):
    """Returns from some set_mtu calls a moment after the change: a window for another caller
    to change the link and log its call first."""

    def set_mtu(self, name: str, mtu: int) -> dict:
        import time

        result = super().set_mtu(name, mtu)
        time.sleep(0.003 if mtu % 2 == 0 else 0)
        return result


def test_parallel_callers_share_one_log_and_roll_back_to_the_start() -> None:
    """Planning an inverse, making the call and logging it must not interleave with another caller."""
    import threading

    from sggit.kernel.mock import default_description

    kernel = _SlowMock(default_description())
    log = UndoLog()

    def work(mtu: int) -> None:
        for _ in range(10):
            perform(kernel, "set_mtu", ["eth0", mtu], {}, log)

    threads = [threading.Thread(target=work, args=(1400 + i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log) == 40
    assert log.rollback(kernel) == []
    assert kernel.get_link("eth0")["mtu"] == 1500


def test_every_mutating_operation_names_an_inverse_that_takes_its_arguments() -> None:
    import inspect

    from sggit.kernel.undo import PLANNERS

    assert set(PLANNERS) == MUTATING
    for name in MUTATING:
        op = inspect.signature(getattr(Kernel, name))
        params = {p: None for p in op.parameters if p != "self"}
        inspect.signature(PLANNERS[name]).bind(object(), **params)
    assert {"create_bridge", "delete_link", "set_stp", "add_address"} <= MUTATING
    assert not MUTATING & {"list_links", "get_link", "probe", "fdb", "now", "sleep"}


@pytest.mark.parametrize(("name", "args", "kwargs"), [
    ("create_bridge", ["br7"], {}),
    ("create_bridge", ["br7", True], {}),
    ("create_vlan", ["eth0", 30], {}),
    ("create_vlan", ["eth0", 30, "v30"], {}),
    ("probe", ["eth0", "10.0.0.1"], {}),
])
def test_positional_calls_bind_as_keyword_calls_do(name: str, args: list, kwargs: dict) -> None:
    import inspect

    from sggit.kernel.dispatch import _bind, _signature

    bound = _signature(name).bind(None, *args, **kwargs)
    bound.apply_defaults()
    expected = {k: v for k, v in bound.arguments.items() if k != "self"}
    assert _bind(name, MockKernel(), args, kwargs) == expected
    assert inspect.signature(getattr(Kernel, name)).parameters.keys() - {"self"} == expected.keys()


def test_too_many_positional_arguments_name_the_signature(mock: MockKernel) -> None:
    with pytest.raises(KernelError, match=r"get_link\(name\): too many positional arguments"):
        perform(mock, "get_link", ["eth0", "eth1"], {})
