"""Only KernelError belongs to the gene: a failure on sggit's side is sggit's error, never a score."""

from __future__ import annotations

import json

import pytest

from sggit.kernel.api import KernelError
from sggit.runtime.sandbox import OrchestratorError

from .helpers import assert_healthy, run

CALLS_KERNEL = """
import json, gene_sdk
def execute(input_json):
    try:
        return json.dumps(gene_sdk.list_links())
    except Exception as exc:
        return json.dumps({"gene saw": type(exc).__name__})
"""


def test_a_bug_in_the_handler_is_raised_out_of_run_not_shown_to_the_gene(pool):
    def buggy(name, args, kwargs):
        return {}["missing"]

    with pytest.raises(OrchestratorError, match="gene_sdk.list_links failed inside sggit.*KeyError"):
        run(pool, CALLS_KERNEL, handler=buggy)
    assert_healthy(pool)


def test_a_kernel_result_that_is_not_json_is_sggits_error(pool):
    with pytest.raises(OrchestratorError, match="returned a value that is not JSON"):
        run(pool, CALLS_KERNEL, handler=lambda name, args, kwargs: {1, 2})
    assert_healthy(pool)


def test_a_kernel_error_is_the_genes_to_handle(pool):
    def refusing(name, args, kwargs):
        raise KernelError("list_links: netlink unavailable")

    outcome = run(pool, CALLS_KERNEL, handler=refusing)
    assert json.loads(outcome.output) == {"gene saw": "KernelError"}
