"""Matrix-level building blocks whose entries are defined at index level.

Each node states once what it means entry by entry (``_entry``), so the same object
serves the prover (indexing turns it into Sums and KroneckerDeltas) and the code
generator (the printer turns it into one vectorised NumPy call).
"""
from __future__ import annotations

import sympy as sp
from sympy import Dummy, IndexedBase, KroneckerDelta, MatrixExpr, S, Sum, exp, log
from sympy.matrices.expressions.matexpr import MatrixElement


def _bound(name: str = "q") -> Dummy:
    return Dummy(name, integer=True)


def el(M, a, b):
    """M[a, b] without SymPy's Sum.doit, which mis-evaluates sums of exponentials."""
    return M._entry(a, b, expand=False)


def at(indices, k):
    """indices[k] for an IndexedBase, indices(k) for a Lambda such as k -> w[t, k]."""
    return indices(k) if isinstance(indices, sp.Lambda) else indices[k]


class _SameShape(MatrixExpr):
    """A node of one matrix argument whose result has that argument's shape."""

    def __new__(cls, x):
        return MatrixExpr.__new__(cls, x)

    @property
    def shape(self):
        return self.args[0].shape


class Softmax(_SameShape):
    """Column-wise softmax: entry (a, b) = exp(s_ab) / sum_q exp(s_qb)."""

    def _entry(self, a, b, **kwargs):
        s, q = self.args[0], _bound()
        return exp(el(s, a, b)) / Sum(exp(el(s, q, b)), (q, 0, s.shape[0] - 1))


class LogSumExp(MatrixExpr):
    """Column-wise log-sum-exp, a 1 x cols row: entry (0, b) = log sum_q exp(s_qb)."""

    def __new__(cls, s):
        return MatrixExpr.__new__(cls, s)

    @property
    def shape(self):
        return (S.One, self.args[0].shape[1])

    def _entry(self, a, b, **kwargs):
        s, q = self.args[0], _bound()
        return log(Sum(exp(el(s, q, b)), (q, 0, s.shape[0] - 1)))


def logistic(x):
    """The scalar logistic function as the prover sees it."""
    return 1 / (1 + exp(-x))


class Sigmoid(_SameShape):
    """Element-wise logistic function."""

    def _entry(self, a, b, **kwargs):
        return logistic(el(self.args[0], a, b))


class LogSigmoid(_SameShape):
    """Element-wise log of the logistic function (printed in its overflow-free form)."""

    def _entry(self, a, b, **kwargs):
        return log(logistic(el(self.args[0], a, b)))


class OneHot(MatrixExpr):
    """Column vector of length n with a one at ``index``: entry (a, 0) = delta(a, index)."""

    def __new__(cls, index, n):
        return MatrixExpr.__new__(cls, sp.sympify(index), sp.sympify(n))

    @property
    def shape(self):
        return (self.args[1], S.One)

    def _entry(self, a, b, **kwargs):
        return KroneckerDelta(a, self.args[0])


class OneHotColumns(MatrixExpr):
    """n x len(indices) matrix whose column k is the one-hot vector of indices[k]."""

    def __new__(cls, indices, n, count):
        return MatrixExpr.__new__(cls, indices, sp.sympify(n), sp.sympify(count))

    @property
    def shape(self):
        return (self.args[1], self.args[2])

    def _entry(self, a, b, **kwargs):
        return KroneckerDelta(a, at(self.args[0], b))


class Gather(MatrixExpr):
    """The columns indices[0..count-1] of M, in order (repeats allowed)."""

    def __new__(cls, M, indices, count):
        return MatrixExpr.__new__(cls, M, indices, sp.sympify(count))

    @property
    def shape(self):
        return (self.args[0].shape[0], self.args[2])

    def _entry(self, a, b, **kwargs):
        M, indices, _ = self.args
        return el(M, a, at(indices, b))


class Scatter(MatrixExpr):
    """The transpose of Gather on a column: entry (a, 0) = sum_k delta(a, indices[k]) x_k.

    Repeated indices add up, which is what a gradient through Gather needs.
    """

    def __new__(cls, x, indices, n):
        return MatrixExpr.__new__(cls, x, indices, sp.sympify(n))

    @property
    def shape(self):
        return (self.args[2], self.args[0].shape[1])

    def _entry(self, a, b, **kwargs):
        x, indices, _ = self.args
        q = _bound()
        return Sum(KroneckerDelta(a, at(indices, q)) * el(x, q, b), (q, 0, x.shape[0] - 1))


class Elem(sp.Function):
    """The element M[a, b] of a matrix expression, kept whole: the printer sees the node,
    the prover its entry.  (A MatrixElement would be expanded by MatMul's doit.)"""

    nargs = 3
    is_commutative = True


def cell(M, a, b=0):
    return Elem(M, sp.sympify(a), sp.sympify(b))


def index_form(expr):
    """Expand elements of matrix expressions into their entries, then replace elements of
    matrix symbols by IndexedBase entries (a column vector gets one index)."""
    def compound(e):
        return isinstance(e, Elem) or isinstance(e, MatrixElement) and not isinstance(e.parent, sp.MatrixSymbol)

    def expand(e):
        return el(*e.args) if isinstance(e, Elem) else el(e.parent, e.i, e.j)

    while any(compound(e) for e in sp.preorder_traversal(expr)):
        expr = expr.replace(compound, expand)

    def to_indexed(element):
        base = IndexedBase(element.parent.name)
        if element.parent.shape[1] == 1:
            return base[element.i]
        return base[element.i, element.j]

    return expr.replace(lambda e: isinstance(e, MatrixElement), to_indexed)


def entry(M, a, b=0):
    """Index-level expression of M[a, b]."""
    return index_form(el(M, sp.sympify(a), sp.sympify(b)))


class Pick(MatrixExpr):
    """The row of entries S[indices[q], q]: each column's entry at its own row index."""

    def __new__(cls, S_, indices):
        return MatrixExpr.__new__(cls, S_, indices)

    @property
    def shape(self):
        return (S.One, self.args[0].shape[1])

    def _entry(self, a, b, **kwargs):
        return el(self.args[0], at(self.args[1], b), b)


class Total(MatrixExpr):
    """The sum of all entries of M, as a 1 x 1 matrix."""

    def __new__(cls, M):
        return MatrixExpr.__new__(cls, M)

    @property
    def shape(self):
        return (S.One, S.One)

    def _entry(self, a, b, **kwargs):
        M, p, q = self.args[0], _bound("p"), _bound("q")
        return Sum(Sum(el(M, p, q), (p, 0, M.shape[0] - 1)), (q, 0, M.shape[1] - 1))
