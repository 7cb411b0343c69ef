"""The .sg contract language. This package imports nothing else of sggit.

Public surface: `load_tree` (parse and check a genome's contracts), `parse_text` /
`parse_file` (syntax only), the AST in `nodes`, `compile_validator` for runtime
validation of `takes`/`gives`, and `format_document` for the canonical layout.

Names are imported on first use: code that only needs the AST or the validators
does not pay for lark and the parser.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sggit.contract.errors import ContractError, Diagnostic
    from sggit.contract.fmt import format_document
    from sggit.contract.nodes import Document, Gene, Pathway, Phenotype, Topology
    from sggit.contract.parser import parse_file, parse_text
    from sggit.contract.tree import ContractTree, load_tree, read_tree
    from sggit.contract.validate import Invalid, Validator, Violation, compile_validator

_WHERE = {
    "ContractError": "errors",
    "Diagnostic": "errors",
    "format_document": "fmt",
    "Document": "nodes",
    "Gene": "nodes",
    "Pathway": "nodes",
    "Phenotype": "nodes",
    "Topology": "nodes",
    "parse_file": "parser",
    "parse_text": "parser",
    "ContractTree": "tree",
    "load_tree": "tree",
    "read_tree": "tree",
    "Invalid": "validate",
    "Validator": "validate",
    "Violation": "validate",
    "compile_validator": "validate",
}

__all__ = [
    "ContractError",
    "ContractTree",
    "Diagnostic",
    "Document",
    "Gene",
    "Invalid",
    "Pathway",
    "Phenotype",
    "Topology",
    "Validator",
    "Violation",
    "compile_validator",
    "format_document",
    "load_tree",
    "parse_file",
    "parse_text",
    "read_tree",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sggit.contract' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"sggit.contract.{module}"), name)
    globals()[name] = value
    return value
