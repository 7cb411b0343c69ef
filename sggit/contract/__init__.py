"""The .sg contract language. This package imports nothing else of sggit.

Public surface: `load_tree` (parse and check a genome's contracts), `parse_text` /
`parse_file` (syntax only), the AST in `nodes`, `compile_validator` for runtime
validation of `takes`/`gives`, and `format_document` for the canonical layout.
"""

from sggit.contract.errors import ContractError, Diagnostic
from sggit.contract.nodes import Document, Gene, Pathway, Phenotype, Topology
from sggit.contract.parser import parse_file, parse_text
from sggit.contract.tree import ContractTree, load_tree, read_tree
from sggit.contract.validate import Invalid, Validator, Violation, compile_validator

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
    "load_tree",
    "parse_file",
    "parse_text",
    "read_tree",
]
