"""The transaction of one gene call: undo newest first, savepoints, failures kept, read-only refusal."""

from __future__ import annotations

import pytest

from sggit.kernel.api import KernelError
from sggit.kernel.mock import MockKernel
from sggit.kernel.transaction import Transaction


def names(kernel: MockKernel) -> list[str]:
    return sorted(link["name"] for link in kernel.list_links())


def test_rollback_undoes_newest_first_and_only_after_the_mark(mock: MockKernel) -> None:
    before = names(mock)
    tx = Transaction(mock)
    tx.handler("create_bridge", ["br1"], {})
    mark = tx.mark()
    tx.handler("set_mtu", ["br1", 1400], {})
    tx.handler("add_port", ["br1", "eth0"], {})
    assert tx.ops == ["create_bridge", "set_mtu", "add_port"]
    assert tx.rollback(to=mark) == []
    assert mock.get_link("br1")["mtu"] == 1500 and mock.get_link("eth0")["master"] is None
    assert len(tx) == 1
    assert tx.undo() == []
    assert names(mock) == before and len(tx) == 0


def test_undo_failures_are_returned_and_kept(mock: MockKernel) -> None:
    tx = Transaction(mock)
    tx.handler("create_bridge", ["br1"], {})
    tx.handler("set_mtu", ["br1", 1400], {})
    mock.delete_bridge("br1")
    failures = tx.rollback()
    assert [f.step for f in failures] == ["set_mtu('br1', 1500)", "delete_bridge('br1')"]
    assert tx.failures == failures
    assert tx.rollback_action() is None


def test_the_runtimes_rollback_form_says_what_could_not_be_undone(mock: MockKernel) -> None:
    tx = Transaction(mock)
    tx.handler("create_bridge", ["br1"], {})
    tx.handler("set_mtu", ["br1", 1400], {})
    mock.delete_bridge("br1")
    undo = tx.rollback_action()
    assert undo is not None
    assert undo() == ["undo of set_mtu('br1', 1400): set_mtu('br1', 1500) failed: no such interface: 'br1'",
                      "undo of create_bridge('br1'): delete_bridge('br1') failed: no such interface: 'br1'"]
    assert tx.rollback_action() is None


def test_the_block_is_rolled_back_when_it_raises(mock: MockKernel) -> None:
    with pytest.raises(RuntimeError), Transaction(mock) as tx:
        tx.handler("create_bridge", ["br1"], {})
        raise RuntimeError("the caller broke")
    assert "br1" not in names(mock)
    with Transaction(mock) as kept:
        kept.handler("create_bridge", ["br2"], {})
    assert "br2" in names(mock)


def test_a_read_only_transaction_refuses_changes_and_remembers_it(mock: MockKernel) -> None:
    before = mock.list_links()
    tx = Transaction(mock, read_only=True, actor="diagnostic")
    assert tx.handler("get_link", ["eth0"], {})["name"] == "eth0"
    with pytest.raises(KernelError, match="^diagnostic gene called set_link_down$"):
        tx.handler("set_link_down", ["eth0"], {})
    with pytest.raises(KernelError, match="not a gene_sdk operation"):
        tx.handler("__class__", [], {})
    assert tx.violations == ["diagnostic gene called set_link_down"]
    assert mock.list_links() == before and len(tx) == 0
