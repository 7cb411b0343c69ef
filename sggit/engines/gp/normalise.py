"""One key per program meaning, so two edit lists that build the same code are judged once.

`ast.unparse` already erases formatting; this also folds what edits commonly
stack into no-ops: `x + 1 - 1`, `not not x`, `x + 0`, arithmetic on constants.
"""

from __future__ import annotations

import ast

_SIGN = {ast.Add: 1, ast.Sub: -1}


class _Fold(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        right = node.right
        if type(node.op) in _SIGN and isinstance(right, ast.Constant) and type(right.value) is int:
            shift = _SIGN[type(node.op)] * right.value
            left = node.left
            if isinstance(left, ast.BinOp) and type(left.op) in _SIGN and isinstance(left.right, ast.Constant) \
                    and type(left.right.value) is int:
                shift += _SIGN[type(left.op)] * left.right.value
                left = left.left
            if shift == 0:
                return left
            return ast.BinOp(left, ast.Add() if shift > 0 else ast.Sub(), ast.Constant(abs(shift)))
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        inner = node.operand
        if isinstance(node.op, ast.Not) and isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.Not):
            return inner.operand
        return node


def normal_form(tree: ast.Module) -> str:
    """A canonical text of the program; equal texts behave the same."""
    folded = _Fold().visit(ast.parse(ast.unparse(tree)))
    return ast.dump(folded, annotate_fields=False)
