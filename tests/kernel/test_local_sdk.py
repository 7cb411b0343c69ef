from __future__ import annotations

import sys

import pytest

from sggit.kernel.api import INTERFACE, KernelError
from sggit.kernel.local_sdk import bind_gene_sdk, installed_gene_sdk, load_gene
from sggit.kernel.mock import MockKernel
from sggit.kernel.undo import UndoLog

GENE = """
import json
import gene_sdk

def execute(input_json):
    data = json.loads(input_json)
    gene_sdk.create_bridge(data["name"])
    return json.dumps({"ports": gene_sdk.list_ports(data["name"])})
"""


def test_module_exposes_exactly_the_interface(mock: MockKernel) -> None:
    module = bind_gene_sdk(mock)
    public = {n for n in vars(module) if not n.startswith("_")} - {"KernelError"}
    assert public == set(INTERFACE)


def test_calls_cross_a_json_round_trip(mock: MockKernel) -> None:
    sdk = bind_gene_sdk(mock)
    sdk.create_bond("bond0", "active-backup", ("eth1",))  # a tuple arrives as a list, as over the pipe
    assert mock.get_bond("bond0")["members"][0]["name"] == "eth1"
    with pytest.raises(KernelError, match="not plain JSON"):
        sdk.set_mtu("eth0", object())


def test_gene_runs_against_the_bound_kernel_and_is_undoable(mock: MockKernel) -> None:
    log = UndoLog()
    execute = load_gene(GENE, bind_gene_sdk(mock, log))
    assert execute('{"name": "br5"}') == '{"ports": []}'
    assert [e.op for e in log.entries] == ["create_bridge"]
    assert "gene_sdk" not in sys.modules
    log.rollback(mock)
    assert "br5" not in {link["name"] for link in mock.list_links()}


def test_installed_module_is_removed_afterwards(mock: MockKernel) -> None:
    with installed_gene_sdk(mock) as sdk:
        import gene_sdk  # type: ignore[import-not-found]

        assert gene_sdk is sdk
        assert gene_sdk.now() == 0.0
    assert "gene_sdk" not in sys.modules


def test_source_without_execute_is_refused(mock: MockKernel) -> None:
    with pytest.raises(KernelError, match="defines no execute"):
        load_gene("x = 1\n", bind_gene_sdk(mock))
