"""d expr / d x with SymPy's own rules, each distinct subexpression differentiated once.

The values of an instantiation share most of their subexpressions (every entry of a softmax has
its denominator, every entry of a gradient the same scores).  sp.diff differentiates a shared
subexpression again wherever it occurs, and at every node it builds a Derivative that walks the
whole result once more (for unevaluated derivatives in it) and asks the assumptions whether it is
zero.  Here the rules SymPy applies to a sum, a product, a power and a function of one argument
are applied over the tree with a memo, building the same terms with the same constructors, so
the derivative is the same expression sp.diff gives.  A node of any other kind (a Max, an
absolute value, a Piecewise, a class with a rule of its own) is left to sp.diff.
"""
from __future__ import annotations

import sympy as sp
from sympy.core.function import ArgumentIndexError

_ADD, _MUL, _POW, _FUNCTION = (sp.Add._eval_derivative, sp.Mul._eval_derivative_n_times, sp.Pow._eval_derivative,
                               sp.Function._eval_derivative)
_ZERO, _ONE = sp.Integer(0), sp.Integer(1)


_BASIC_FREE_SYMBOLS = sp.Basic.free_symbols  # the property: a node whose class keeps it has its arguments' symbols


def free_symbols(node, memo: dict) -> frozenset:
    """node.free_symbols, each distinct subexpression's computed once per memo: SymPy recomputes
    them over the whole tree at every call, and the values of one instantiation share most of
    their subexpressions."""
    out = memo.get(node)
    if out is None:
        if type(node).free_symbols is _BASIC_FREE_SYMBOLS:
            out = frozenset().union(*[free_symbols(a, memo) for a in node.args])
        else:  # a symbol, or a node with bound symbols (a Derivative's, a Lambda's) or its own rule
            out = frozenset(node.free_symbols)
        memo[node] = out
    return out


def derivative(expr, x, memo: dict | None = None, free: dict | None = None):
    """d expr / d x for a SymPy expression and a symbol x.  memo maps (node, x) to its derivative
    and may be shared by calls on one set of expressions; free is a memo of free_symbols."""
    memo = {} if memo is None else memo
    free = {} if free is None else free
    return _d(sp.sympify(expr), x, memo, free)


def _d(node, x, memo: dict, free: dict):
    key = (node, x)
    out = memo.get(key)
    if out is not None:
        return out
    if node is x:
        out = _ONE
    elif x not in free_symbols(node, free):
        out = _ZERO  # as sp.diff's quick exit for a symbol the expression does not contain
    else:
        kind = type(node)
        if node.is_Add and kind._eval_derivative is _ADD:
            out = node.func(*[_d(a, x, memo, free) for a in node.args])
        elif node.is_Mul and kind._eval_derivative_n_times is _MUL:
            # the general Leibniz rule for a first derivative: one term per factor differentiated
            args = node.args
            out = sp.Add(*[sp.Mul(*[_d(a, x, memo, free) if j == i else a for j, a in enumerate(args)])
                           for i in range(len(args))])
        elif node.is_Pow and kind._eval_derivative is _POW:
            base, exponent = node.args
            out = node * (_d(exponent, x, memo, free) * sp.log(base) + _d(base, x, memo, free) * exponent / base)
        elif isinstance(node, sp.Function) and kind._eval_derivative is _FUNCTION and \
                kind._eval_derivative_n_times is sp.Basic._eval_derivative_n_times:
            out = _function(node, x, memo, free)
        else:
            out = sp.diff(node, x)
    memo[key] = out
    return out


def _function(node, x, memo: dict, free: dict):
    """f(a, ...)' = sum of f's partial derivatives times its arguments' (Function._eval_derivative)."""
    terms = []
    for i, a in enumerate(node.args, start=1):
        da = _d(a, x, memo, free)
        # SymPy asks the assumptions whether da is zero, which costs more than the rule; a
        # derivative that is zero but not a literal 0 (with symbols of no assumptions) is one only
        # up to a simplification SymPy does not make when it builds expressions either
        if da is _ZERO or (da.is_Number and da.is_zero):
            continue
        try:
            df = node.fdiff(i)
        except ArgumentIndexError:
            df = sp.Function.fdiff(node, i)
        terms.append(df * da)
    return sp.Add(*terms)
