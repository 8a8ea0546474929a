"""The primitives: matrix-level nodes whose entries are defined at index level.

Each node states once what it means entry by entry (``_entry``), so the same object serves
the prover (indexing turns it into Sums and KroneckerDeltas), the explicit check, and the
code generator (the printer turns it into one vectorised NumPy call).  Its derivative rule
lives in ``rules.py``, its print method in ``printer.py``, one each.

Conventions: a vector is an n x 1 column (a 1-D array in generated code); a scalar result is a
1 x 1 matrix.  ``axis`` follows NumPy: 0 works down each column, 1 along each row.  Index
arrays are IndexedBase objects with integer entries and a ``shape``; a single index is an
integer Symbol.
"""
from __future__ import annotations

import sympy as sp
from sympy import Dummy, Function, IndexedBase, KroneckerDelta, MatrixExpr, S, Sum, log
from sympy.matrices.expressions.matexpr import MatrixElement


def bound(name: str = "q") -> Dummy:
    return Dummy(name, integer=True)


def el(M, a, b):
    """M[a, b] without SymPy's Sum.doit, which mis-evaluates sums of exponentials."""
    return M._entry(a, b, expand=False)


def is_array(idx) -> bool:
    """An index array (IndexedBase with a shape), as opposed to one index (a Symbol or number)."""
    return isinstance(idx, IndexedBase)


def dims(idx) -> tuple:
    return tuple(idx.shape) if is_array(idx) else ()


def at(idx, *k):
    """idx[k...] for an index array; a single index is its own value."""
    return idx[k] if is_array(idx) else idx


# -- scalar functions of the index level -----------------------------------------------------


class ExpFn(Function):
    """exp as the index level uses it.  SymPy's exp asks costly questions of its argument each
    time an expression is rebuilt (is it a multiple of i pi? a number?), and index-level
    arguments are large sums; this one only knows exp(0) = 1 and its own derivative.  The
    prover reads it as a positive symbol, like exp."""

    nargs = 1
    is_real = True
    is_positive = True

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return S.One

    def fdiff(self, argindex=1):
        return self

    def _eval_evalf(self, prec):
        return sp.exp(self.args[0])._eval_evalf(prec)

    def _latex(self, printer):
        return rf"\exp\left({printer._print(self.args[0])}\right)"


exp = ExpFn


class StepFn(Function):
    """[x > 0]: 1 for x > 0 and 0 otherwise (so relu'(0) = 0).  Its derivative is 0 wherever it
    has one; masks are data, never differentiated through."""

    @classmethod
    def eval(cls, x):
        # only numbers: asking a large index-level sum whether it is positive costs seconds
        if x.is_Number:
            return S.One if x > 0 else S.Zero

    def fdiff(self, argindex=1):
        return S.Zero


class ReluFn(Function):
    """max(0, x), with relu'(0) = 0 stated: the derivative is [x > 0]."""

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return x if x > 0 else S.Zero

    def fdiff(self, argindex=1):
        return StepFn(self.args[0])


class MinFn(Function):
    """min(x, c); the derivative in x is [c - x > 0]."""

    @classmethod
    def eval(cls, x, c):
        if x.is_Number and c.is_Number:
            return sp.Min(x, c)

    def fdiff(self, argindex=1):
        x, c = self.args
        return StepFn(c - x) if argindex == 1 else StepFn(x - c)


def logistic(x):
    """The logistic function as the prover sees it: rational in exp(-x)."""
    return 1 / (1 + exp(-x))


SCALAR = {
    "Exp": exp,
    "Log": log,
    "Tanh": sp.tanh,
    "Sigmoid": logistic,
    "LogSigmoid": lambda x: -log(1 + exp(-x)),
    "Softplus": lambda x: log(1 + exp(x)),
    "Relu": ReluFn,
    "Step": StepFn,
}


# -- nodes -----------------------------------------------------------------------------------


class Node(MatrixExpr):
    """A primitive: its arguments are in ``args``; subclasses give shape and _entry."""

    is_commutative = False

    def _eval_transpose(self):
        return None  # Transpose(node): its entry is the node's, swapped

    def _latex_arg(self, printer, k=0):
        return printer._print(self.args[k])


class Elementwise(Node):
    """f applied to every entry of one matrix; f is SCALAR[class name]."""

    def __new__(cls, x):
        return MatrixExpr.__new__(cls, x)

    @property
    def shape(self):
        return self.args[0].shape

    def _entry(self, a, b, **kwargs):
        return SCALAR[type(self).__name__](el(self.args[0], a, b))

    def _latex(self, printer):
        names = {"Exp": r"\exp", "Log": r"\log", "Tanh": r"\tanh", "Sigmoid": r"\sigma", "LogSigmoid": r"\log\sigma",
                 "Softplus": r"\mathrm{softplus}", "Relu": r"\mathrm{relu}"}
        if type(self) is Step:
            return rf"[{printer._print(self.args[0])} > 0]"
        return rf"{names[type(self).__name__]}\left({printer._print(self.args[0])}\right)"


class Exp(Elementwise):
    pass


class Log(Elementwise):
    pass


class Tanh(Elementwise):
    pass


class Sigmoid(Elementwise):
    pass


class LogSigmoid(Elementwise):
    pass


class Softplus(Elementwise):
    pass


class Relu(Elementwise):
    pass


class Step(Elementwise):
    """The mask [x > 0]; a comparison A > B is Step(A - B)."""


class Power(Node):
    """Every entry to the power p (a number or a scalar symbol): NumPy's **."""

    def __new__(cls, x, p):
        return MatrixExpr.__new__(cls, x, sp.sympify(p))

    @property
    def shape(self):
        return self.args[0].shape

    def _entry(self, a, b, **kwargs):
        return el(self.args[0], a, b) ** self.args[1]

    def _latex(self, printer):
        return rf"\left({printer._print(self.args[0])}\right)^{{\circ {printer._print(self.args[1])}}}"


class Minimum(Node):
    """min(x, c) entry by entry, c a scalar."""

    def __new__(cls, x, c):
        return MatrixExpr.__new__(cls, x, sp.sympify(c))

    @property
    def shape(self):
        return self.args[0].shape

    def _entry(self, a, b, **kwargs):
        return MinFn(el(self.args[0], a, b), self.args[1])

    def _latex(self, printer):
        return rf"\min\left({printer._print(self.args[1])}, {printer._print(self.args[0])}\right)"


class _AxisNode(Node):
    """A node over one axis of a matrix: 0 down each column, 1 along each row."""

    def __new__(cls, x, axis):
        return MatrixExpr.__new__(cls, x, sp.Integer(axis))

    @property
    def axis(self) -> int:
        return int(self.args[1])

    def _sum_exp(self, a, b):
        """sum over the axis of exp(x), at the entry (a, b)'s column or row."""
        x, q = self.args[0], bound()
        if self.axis == 0:
            return Sum(exp(el(x, q, b)), (q, 0, x.shape[0] - 1))
        return Sum(exp(el(x, a, q)), (q, 0, x.shape[1] - 1))


class Softmax(_AxisNode):
    """exp(x) divided by its sum over the axis."""

    @property
    def shape(self):
        return self.args[0].shape

    def _entry(self, a, b, **kwargs):
        return exp(el(self.args[0], a, b)) / self._sum_exp(a, b)

    def _latex(self, printer):
        return rf"\mathrm{{softmax}}\left({printer._print(self.args[0])}\right)"


class LogSoftmax(_AxisNode):
    """log softmax(x) = x - logsumexp(x) over the axis."""

    @property
    def shape(self):
        return self.args[0].shape

    def _entry(self, a, b, **kwargs):
        return el(self.args[0], a, b) - log(self._sum_exp(a, b))

    def _latex(self, printer):
        return rf"\log\mathrm{{softmax}}\left({printer._print(self.args[0])}\right)"


class LogSumExp(_AxisNode):
    """log sum exp over the axis: a vector with one entry per column (axis 0) or row (axis 1)."""

    @property
    def shape(self):
        x = self.args[0]
        return (x.shape[1] if self.axis == 0 else x.shape[0], S.One)

    def _entry(self, a, b, **kwargs):
        return log(self._sum_exp(a, a) if self.axis == 1 else self._sum_exp(0, a))

    def _latex(self, printer):
        return rf"\mathrm{{logsumexp}}\left({printer._print(self.args[0])}\right)"


class Total(Node):
    """The sum of all entries, a 1 x 1 matrix."""

    def __new__(cls, x):
        return MatrixExpr.__new__(cls, x)

    @property
    def shape(self):
        return (S.One, S.One)

    def _entry(self, a, b, **kwargs):
        x, p, q = self.args[0], bound("p"), bound("q")
        return Sum(Sum(el(x, p, q), (p, 0, x.shape[0] - 1)), (q, 0, x.shape[1] - 1))

    def _latex(self, printer):
        return rf"\mathrm{{sum}}\left({printer._print(self.args[0])}\right)"


class FrobeniusSq(Node):
    """The squared Frobenius norm: the sum of the squares of all entries, 1 x 1."""

    def __new__(cls, x):
        return MatrixExpr.__new__(cls, x)

    @property
    def shape(self):
        return (S.One, S.One)

    def _entry(self, a, b, **kwargs):
        x, p, q = self.args[0], bound("p"), bound("q")
        return Sum(Sum(el(x, p, q) ** 2, (p, 0, x.shape[0] - 1)), (q, 0, x.shape[1] - 1))

    def _latex(self, printer):
        return rf"\left\|{printer._print(self.args[0])}\right\|_F^2"


class Take(Node):
    """Entries of a vector picked by an index (1 x 1) or an index array (its shape)."""

    def __new__(cls, v, idx):
        return MatrixExpr.__new__(cls, v, idx)

    @property
    def shape(self):
        d = dims(self.args[1])
        return (S.One, S.One) if not d else (d[0], d[1] if len(d) > 1 else S.One)

    def _entry(self, a, b, **kwargs):
        v, idx = self.args
        d = dims(idx)
        where = idx if not d else (idx[a] if len(d) == 1 else idx[a, b])
        return el(v, where, 0)

    def _latex(self, printer):
        return rf"\left({printer._print(self.args[0])}\right)_{{{printer._print(self.args[1])}}}"


class Gather(Node):
    """Columns (axis 1) or rows (axis 0) of a matrix picked by an index array, repeats allowed.
    With one index, the column or row itself as a vector."""

    def __new__(cls, M, idx, axis):
        return MatrixExpr.__new__(cls, M, idx, sp.Integer(axis))

    @property
    def axis(self) -> int:
        return int(self.args[2])

    @property
    def shape(self):
        M, idx = self.args[:2]
        d = dims(idx)
        if self.axis == 1:
            return (M.shape[0], d[0] if d else S.One)
        return (d[0], M.shape[1]) if d else (M.shape[1], S.One)

    def _entry(self, a, b, **kwargs):
        M, idx = self.args[:2]
        if self.axis == 1:
            return el(M, a, at(idx, b))
        return el(M, at(idx, a), b) if is_array(idx) else el(M, idx, a)

    def _latex(self, printer):
        M, idx = (printer._print(x) for x in self.args[:2])
        return rf"{M}_{{:, {idx}}}" if self.axis == 1 else rf"{M}_{{{idx}, :}}"


class Pick(Node):
    """One entry per row (axis 1: S[i, y_i]) or per column (axis 0: S[y_b, b]): a vector."""

    def __new__(cls, S_, idx, axis):
        return MatrixExpr.__new__(cls, S_, idx, sp.Integer(axis))

    @property
    def axis(self) -> int:
        return int(self.args[2])

    @property
    def shape(self):
        M = self.args[0]
        return (M.shape[0] if self.axis == 1 else M.shape[1], S.One)

    def _entry(self, a, b, **kwargs):
        M, idx = self.args[:2]
        return el(M, a, idx[a]) if self.axis == 1 else el(M, idx[a], a)

    def _latex(self, printer):
        return rf"{printer._print(self.args[0])}_{{[{printer._print(self.args[1])}]}}"


class OneHot(Node):
    """e_idx, the n-vector with a one at idx.  For an index array of length m, the matrix of
    one-hot rows (axis 1, m x n) or one-hot columns (axis 0, n x m)."""

    def __new__(cls, idx, n, axis=0):
        return MatrixExpr.__new__(cls, idx, sp.sympify(n), sp.Integer(axis))

    @property
    def axis(self) -> int:
        return int(self.args[2])

    @property
    def shape(self):
        idx, n = self.args[:2]
        d = dims(idx)
        if not d:
            return (n, S.One)
        return (d[0], n) if self.axis == 1 else (n, d[0])

    def _entry(self, a, b, **kwargs):
        idx = self.args[0]
        if not is_array(idx):
            return KroneckerDelta(a, idx)
        return KroneckerDelta(b, idx[a]) if self.axis == 1 else KroneckerDelta(a, idx[b])

    def _latex(self, printer):
        return rf"\mathrm{{onehot}}\left({printer._print(self.args[0])}\right)"


class ScatterTake(Node):
    """The transpose of Take: an n-vector whose entry q adds g's entries picked at q."""

    def __new__(cls, g, idx, n):
        return MatrixExpr.__new__(cls, g, idx, sp.sympify(n))

    @property
    def shape(self):
        return (self.args[2], S.One)

    def _entry(self, a, b, **kwargs):
        g, idx, _ = self.args
        d = dims(idx)
        if not d:
            return KroneckerDelta(a, idx) * el(g, 0, 0)
        p = bound("p")
        if len(d) == 1:
            return Sum(KroneckerDelta(a, idx[p]) * el(g, p, 0), (p, 0, d[0] - 1))
        q = bound("q")
        return Sum(Sum(KroneckerDelta(a, idx[p, q]) * el(g, p, q), (p, 0, d[0] - 1)), (q, 0, d[1] - 1))

    def _latex(self, printer):
        return rf"\mathrm{{scatter}}_{{{printer._print(self.args[1])}}}\left({printer._print(self.args[0])}\right)"


class Scatter(Node):
    """The transpose of Gather: n columns (axis 1) or rows (axis 0); slot q adds the columns
    or rows of g picked at q (repeated indices add up)."""

    def __new__(cls, g, idx, n, axis):
        return MatrixExpr.__new__(cls, g, idx, sp.sympify(n), sp.Integer(axis))

    @property
    def axis(self) -> int:
        return int(self.args[3])

    @property
    def shape(self):
        g, idx, n = self.args[:3]
        if self.axis == 1:
            return (g.shape[0], n)
        return (n, g.shape[1] if is_array(idx) else g.shape[0])

    def _entry(self, a, b, **kwargs):
        g, idx = self.args[:2]
        if not is_array(idx):  # one column (row) placed at idx
            return KroneckerDelta(b, idx) * el(g, a, 0) if self.axis == 1 else KroneckerDelta(a, idx) * el(g, b, 0)
        p = bound("p")
        if self.axis == 1:
            return Sum(KroneckerDelta(b, idx[p]) * el(g, a, p), (p, 0, g.shape[1] - 1))
        return Sum(KroneckerDelta(a, idx[p]) * el(g, p, b), (p, 0, g.shape[0] - 1))

    def _latex(self, printer):
        return rf"\mathrm{{scatter}}_{{{printer._print(self.args[1])}}}\left({printer._print(self.args[0])}\right)"


class Scale(Node):
    """A 1 x 1 matrix s times a matrix M (s M in the mathematics, s * M in NumPy)."""

    def __new__(cls, s, M):
        return MatrixExpr.__new__(cls, s, M)

    @property
    def shape(self):
        return self.args[1].shape

    def _entry(self, a, b, **kwargs):
        return el(self.args[0], 0, 0) * el(self.args[1], a, b)

    def _latex(self, printer):
        return rf"{printer._print(self.args[0])}\, {printer._print(self.args[1])}"


class IndexSum(Node):
    """A sum over an index of a matrix-valued body (claims only: \\sum_w \\hat{y}_w u_w)."""

    def __new__(cls, body, var, lo, hi):
        return MatrixExpr.__new__(cls, body, var, sp.sympify(lo), sp.sympify(hi))

    @property
    def shape(self):
        return self.args[0].shape

    def _entry(self, a, b, **kwargs):
        body, var, lo, hi = self.args
        return Sum(el(body, a, b), (var, lo, hi))

    def _latex(self, printer):
        body, var, lo, hi = self.args
        return rf"\sum_{{{printer._print(var)}}} {printer._print(body)}"


class Elem(Function):
    """The element M[a, b] of a matrix expression as a scalar, kept whole: the prover sees its
    entry.  (A MatrixElement would be expanded by MatMul's doit.)"""

    nargs = 3
    is_commutative = True


def cell(M, a=0, b=0):
    return Elem(M, sp.sympify(a), sp.sympify(b))


def index_form(expr):
    """Expand elements of matrix expressions into their entries, then replace elements of
    matrix symbols by IndexedBase entries (a column vector, and a 1 x 1, gets one index)."""
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


def entry(M, a=0, b=0):
    """Index-level expression of M[a, b]."""
    return index_form(el(M, sp.sympify(a), sp.sympify(b)))


def matrix_entry(name: str, shape, a, b=0):
    """The index-level entry of an input named name (as index_form writes it)."""
    base = IndexedBase(name)
    return base[a] if shape[1] == 1 else base[a, b]
