"""SymPy's count_ops(expr) of an expression, each distinct subexpression counted once.

A proof's budget is counted in operations (steps.py), and the differences a checker proves share
most of their subexpressions (the entries of a softmax, the sides of the steps of one chain).
count_ops walks the whole tree every time, and calls fraction() on every product in it.  Its
count is a sum over the nodes it visits of what each node adds (an ADD per extra term, a DIV per
denominator, ...), and which nodes it visits next depends only on the node, so a node's count is
its own part plus its successors' counts, kept in a memo.  The rules below are count_ops's, one
branch each, in its order.
"""
from __future__ import annotations

import sympy as sp
from sympy.core.function import _coeff_isneg
from sympy.core.operations import LatticeOp
from sympy.simplify.radsimp import fraction

_COUNTED = (sp.Derivative, sp.Integral, sp.Sum)


def operations(expr, memo: dict) -> int:
    """count_ops(expr) for a SymPy expression (visual=False)."""
    if not isinstance(expr, sp.Expr) or expr.is_Relational:
        return sp.count_ops(expr)  # its other rules (a relation, a Boolean): not met in a value
    return _count(expr, memo)


def _count(a, memo: dict) -> int:
    out = memo.get(a)
    if out is None:  # inside an expression every node takes the expression rules, as in count_ops
        own, successors = _node(a)
        out = memo[a] = own + sum(_count(s, memo) for s in successors)
    return out


def _node(a) -> tuple[int, tuple]:
    """(what count_ops adds for the node a, the nodes it goes on to)."""
    own = 0
    if a.is_Rational:
        if a is not sp.S.One:
            return int(a.p < 0) + int(a.q != 1), ()
    elif a.is_Mul:
        if _coeff_isneg(a):
            own += 1  # NEG
            a = a.as_two_terms()[1] if a.args[0] is sp.S.NegativeOne else -a
        n, d = fraction(a)
        if n.is_Integer:
            return own + 1 + int(bool(n < 0)), (d,)  # DIV (and NEG)
        if d is not sp.S.One:
            return own + 1, ((d,) if not d.is_Integer else ()) + (n,)  # DIV
    elif a.is_Add:
        terms = a.args
        negative = [_coeff_isneg(t) for t in terms]
        # an ADD or SUB between terms; a NEG when every term is negative (-x - y); -x + y is one SUB
        own += len(terms) - 1 + int(all(negative))
        return own, tuple(-t if neg else t for t, neg in zip(terms, negative))
    if a.is_Pow and a.exp is sp.S.NegativeOne:
        return own + 1, (a.base,)  # DIV
    if a == sp.S.Exp1:
        return own + 1, ()  # EXP
    if a.is_Pow and a.base == sp.S.Exp1:
        return own + 1, (a.exp,)  # EXP
    if a.is_Mul or isinstance(a, LatticeOp):
        own += len(a.args) - 1
    elif a.args and (a.is_Pow or a.is_Function or isinstance(a, _COUNTED)):
        own += 1
    return own, (() if a.is_Symbol else a.args)
