"""Printers for the proved matrix forms: vectorised NumPy, and LaTeX for the reports.

SymPy's stock NumPyPrinter prints element-wise functions on matrices as invalid code and
matrix-expression assignments as a wrong einsum.  Each primitive of ``algebra`` has its own
``_print_<Node>`` method here, so extending code generation is adding a method.  In the
generated code a vector (n x 1, or 1 x n) is a 1-D array and a 1 x 1 matrix is a number; a
matrix of ones times a vector is printed as NumPy broadcasting, never built.

The helpers the printed code calls (softmax, sigmoid, ...) are defined once in RUNTIME, each
stable at scores of +-1000; ``helpers(text)`` lists the ones a module needs.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy import Identity, MatAdd, MatMul, MatrixExpr, OneMatrix, Transpose
from sympy.printing.latex import LatexPrinter
from sympy.printing.numpy import NumPyPrinter

from .algebra import Gather, Log, LogSumExp, OneHot, Softmax, Step, is_array


def is_vector(M) -> bool:
    return isinstance(M, MatrixExpr) and (M.shape[1] == 1 or M.shape[0] == 1) and M.shape != (1, 1)


def is_scalar(M) -> bool:
    return not isinstance(M, MatrixExpr) or M.shape == (1, 1)


def is_row(M) -> bool:
    return isinstance(M, MatrixExpr) and M.shape[0] == 1 and M.shape[1] != 1


_SIMPLE = re.compile(r"^([A-Za-z_][\w.]*(\[[^\[\]]*\]|\([^()]*\)|\.[A-Za-z_]\w*)*|\d+(\.\d*)?(e-?\d+)?)$")


class NumPyCode(NumPyPrinter):
    """NumPy for the primitives.  names maps symbols to the Python names they have in the
    function (an argument's name, a step's name)."""

    def __init__(self, names=None, settings=None):
        super().__init__({"fully_qualified_modules": False, **(settings or {})})
        self.names = names or {}

    def parenthesize(self, item, level, strict=False):
        text = self._print(item)
        return text if _SIMPLE.match(text) else f"({text})"

    def wrap(self, text: str) -> str:
        return text if _SIMPLE.match(text) or _balanced_call(text) or _parenthesized(text) else f"({text})"

    # -- names ------------------------------------------------------------------------------
    def _print_Symbol(self, expr):
        return self.names.get(expr, expr.name)

    def _print_MatrixSymbol(self, expr):
        return self.names.get(expr, expr.name)

    def _print_IndexedBase(self, expr):
        return self.names.get(expr, str(expr.label))

    def _print_Indexed(self, expr):
        return f"{self._print(expr.base)}[{', '.join(self._print(i) for i in expr.indices)}]"

    def _print_OneMatrix(self, expr):
        rows, cols = expr.shape
        if (rows, cols) == (1, 1):
            return "1.0"
        if cols == 1 or rows == 1:
            return f"np.ones({self._print(rows if cols == 1 else cols)})"
        return f"np.ones(({self._print(rows)}, {self._print(cols)}))"

    def _print_ZeroMatrix(self, expr):
        rows, cols = expr.shape
        if (rows, cols) == (1, 1):
            return "0.0"
        if cols == 1 or rows == 1:
            return f"np.zeros({self._print(rows if cols == 1 else cols)})"
        return f"np.zeros(({self._print(rows)}, {self._print(cols)}))"

    def _print_Identity(self, expr):
        return f"np.eye({self._print(expr.shape[0])})"

    # -- broadcasting: a matrix of ones times something, in its smallest form ------------------
    def compact(self, expr) -> str | None:
        """NumPy text of a smaller array that broadcasts to expr's shape, or None."""
        c, m = _coeff(expr)
        rows, cols = expr.shape
        if isinstance(m, OneMatrix):
            return self._number(c)
        if isinstance(m, MatMul):
            factors = list(m.args)
            if all(isinstance(f, OneMatrix) or f.shape == (1, 1) for f in factors):
                inner = [f for f in factors if not isinstance(f, OneMatrix)]
                body = self._print(inner[0]) if len(inner) == 1 else self._print(MatMul(*inner))
                return self._scaled(c, body)
            if len(factors) == 2 and isinstance(factors[0], OneMatrix) and factors[0].shape[1] == 1 and cols != 1:
                return self._scaled(c, self._print(factors[1]))  # 1 r: r added to every row
            if len(factors) == 2 and isinstance(factors[1], OneMatrix) and factors[1].shape[0] == 1 and rows != 1:
                return self._scaled(c, f"{self.wrap(self._print(factors[0]))}[:, None]")  # v 1^T
        return None

    def _scaled(self, c, body):
        if c == 1:
            return body
        if c == -1:
            return f"-{self.wrap(body)}"
        return f"{self._coefficient(c)} * {self.wrap(body)}"

    def _number(self, c):
        return self._print(sp.Float(c)) if c.is_Number and not c.is_Integer else self._print(c)

    def _coefficient(self, c):
        number, rest = sp.sympify(c).as_coeff_Mul()
        if number.is_Rational and not number.is_Integer and rest != 1:  # reg/2: 0.5 * reg
            text = f"{float(number)!r} * {self._print(rest)}"
        else:
            text = self._print(c)
        return text if _SIMPLE.match(text) or re.fullmatch(r"-?[\d.]+", text) else f"({text})"

    # -- sums and products ---------------------------------------------------------------------
    def _print_MatAdd(self, expr):
        terms = list(expr.args)
        hot = [t for t in terms if _negated_one_hot(t) is not None]
        if len(hot) == 1 and len(terms) > 1 and not is_scalar(expr):
            rest = [t for t in terms if t is not hot[0]]
            node = _negated_one_hot(hot[0])
            base = rest[0] if len(rest) == 1 else MatAdd(*rest)
            name = {True: "minus_one_hot"}.get(not is_array(node.args[0]),
                                               "minus_one_hot_rows" if node.axis == 1 else "minus_one_hot_columns")
            return f"{name}({self._print(base)}, {self._print(node.args[0])})"
        full = [t for t in terms if self.compact(t) is None]
        texts = []
        for t in terms:
            small = self.compact(t) if full else None
            texts.append(small if small is not None else self._print(t))
        # positive terms first: softmax(s) - one_hot(o, W) reads as the claim does
        texts.sort(key=lambda t: t.startswith("-"))
        out = texts[0]
        for t in texts[1:]:
            out += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
        return out

    def _print_HadamardProduct(self, expr):
        args = list(expr.args)
        guarded = _masked_log(args)
        if guarded is not None:
            mask, log, rest = guarded
            text = f"masked_log({self._print(log.args[0])})"
            return " * ".join([text] + [self.wrap(self._print(a)) for a in rest])
        full = [a for a in args if self.compact(a) is None]
        texts = []
        for a in args:
            small = self.compact(a) if full else None
            texts.append(self.wrap(small if small is not None else self._print(a)))
        return " * ".join(texts)

    def _print_MatMul(self, expr):
        c, factors = expr.as_coeff_matrices()
        factors = [f for f in factors if not (isinstance(f, (OneMatrix, Identity)) and f.shape == (1, 1))]
        if not factors:
            return self._number(c)
        if c == -1 and len(factors) == 1 and isinstance(factors[0], MatAdd):  # -(a - b) reads b - a
            return self._print(MatAdd(*[-t for t in factors[0].args]))
        body = self.product(factors, expr.shape)
        if c == 1:
            return body
        if c == -1:
            return f"-{self.wrap(body)}"
        num, den = sp.fraction(c)
        if den != 1 and num in (1, -1):  # 1/N: divide (one pass, exact)
            return f"{'-' if num == -1 else ''}{self.wrap(body)} / {self._coefficient(den)}"
        if den != 1 and den.is_Symbol:  # reg/N
            return f"{self._coefficient(num)} * {self.wrap(body)} / {self._coefficient(den)}"
        return f"{self._coefficient(c)} * {self.wrap(body)}"

    def product(self, factors, shape) -> str:
        if len(factors) == 1:
            return self._print(factors[0])
        # ones: sums over an axis, and broadcasts
        first, last = factors[0], factors[-1]
        if isinstance(first, OneMatrix) and first.shape[0] == 1:  # 1^T M: column sums
            rest = factors[1:]
            inner = rest[0] if len(rest) == 1 else MatMul(*rest)
            if is_vector(inner) or is_scalar(inner):
                return f"np.sum({self._print(inner)})"
            return f"{self.wrap(self._print(inner))}.sum(axis=0)"
        if isinstance(last, OneMatrix) and last.shape[1] == 1:  # M 1: row sums
            rest = factors[:-1]
            inner = rest[0] if len(rest) == 1 else MatMul(*rest)
            if is_vector(inner) or is_scalar(inner):
                return f"np.sum({self._print(inner)})"
            if isinstance(inner, Transpose):  # M^T 1: the column sums of M
                return f"{self.wrap(self._print(inner.arg))}.sum(axis=0)"
            return f"{self.wrap(self._print(inner))}.sum(axis=1)"
        if isinstance(first, OneMatrix) or isinstance(last, OneMatrix):
            small = self.compact(MatMul(*factors))
            rows, cols = shape
            if small is not None:
                return f"np.broadcast_to({small}, {self._shape(shape)}).copy()"
        # one-hot factors: columns and rows picked, or placed
        if isinstance(last, OneHot) and len(factors) >= 2:
            head = factors[:-1]
            M = head[0] if len(head) == 1 else MatMul(*head)
            idx = last.args[0]
            if not is_array(idx):
                if M.shape == (1, 1):
                    return f"{self.wrap(self._print(M))} * {self._print(last)}"
                return self.column(M, idx)
            if last.axis == 0:  # M [e_{idx_1} ... e_{idx_m}]: the columns idx
                return self.column(M, idx)
        if isinstance(first, Transpose) and isinstance(first.arg, OneHot) and len(factors) >= 2:
            tail = factors[1:]
            M = tail[0] if len(tail) == 1 else MatMul(*tail)
            idx = first.arg.args[0]
            if not is_array(idx) or first.arg.axis == 0:
                return self.row(M, idx)
        if isinstance(last, Transpose) and isinstance(last.arg, OneHot) and len(factors) == 2:
            g, node = factors[0], last.arg
            if g.shape == (1, 1) and not is_array(node.args[0]):  # s e_o^T: a row, 1-D
                return f"{self.wrap(self._print(g))} * {self._print(node)}"
            if not is_array(node.args[0]):  # g e_o^T: g in column o
                return f"place_column({self._print(g)}, {self._print(node.args[0])}, {self._print(node.args[1])})"
            if node.axis == 0:  # g [e_{c_1} ... e_{c_B}]^T: columns added into place
                return f"scatter_columns({self._print(g)}, {self._print(node.args[0])}, {self._print(node.args[1])})"
        if isinstance(first, OneHot) and len(factors) == 2 and not is_array(first.args[0]):
            g = factors[1]
            if g.shape == (1, 1):
                return f"{self.wrap(self._print(g))} * {self._print(first)}"
            if isinstance(g, Transpose):  # e_o g^T: g in row o
                return f"place_row({self._print(g.arg)}, {self._print(first.args[0])}, {self._print(first.args[1])})"
        # 1 x 1 factors multiply; a column times a row is an outer product
        scalars = [f for f in factors if f.shape == (1, 1)]
        if scalars and len(scalars) < len(factors):
            rest = [f for f in factors if f.shape != (1, 1)]
            inner = rest[0] if len(rest) == 1 else MatMul(*rest)
            return " * ".join([self.wrap(self._print(s)) for s in scalars] + [self.wrap(self._print(inner))])
        if len(factors) == 2 and factors[0].shape[1] == 1 and factors[1].shape[0] == 1:
            return f"np.outer({self._print(factors[0])}, {self._print(factors[1])})"
        *left, right = factors
        head = left[0] if len(left) == 1 else MatMul(*left)
        return f"{self.wrap(self._print(head))} @ {self.wrap(self._print(right))}"

    def _shape(self, shape):
        rows, cols = shape
        if cols == 1:
            return f"({self._print(rows)},)"
        if rows == 1:
            return f"({self._print(cols)},)"
        return f"({self._print(rows)}, {self._print(cols)})"

    def column(self, M, idx):
        """Column(s) idx of M, as NumPy indexing."""
        if isinstance(M, Transpose):
            return f"{self.wrap(self._print(M.arg))}[{self._print(idx)}]" + (".T" if is_array(idx) and
                                                                             not is_vector(M.arg) else "")
        if is_vector(M) and M.shape[0] == 1:
            return f"{self.wrap(self._print(M))}[{self._print(idx)}]"
        return f"{self.wrap(self._print(M))}[:, {self._print(idx)}]"

    def row(self, M, idx):
        if isinstance(M, Transpose):
            return self.column(M.arg, idx) if not is_vector(M.arg) else f"{self.wrap(self._print(M.arg))}[{self._print(idx)}]"
        return f"{self.wrap(self._print(M))}[{self._print(idx)}]"

    def _print_Transpose(self, expr):
        arg = expr.arg
        if is_vector(arg) or is_scalar(arg):
            return self._print(arg)  # a 1-D array is its own transpose
        return f"{self.wrap(self._print(arg))}.T"

    def _print_Scale(self, expr):
        s, M = expr.args
        return f"{self.wrap(self._print(s))} * {self.wrap(self._print(M))}"

    # -- elementwise -----------------------------------------------------------------------------
    def _print_Exp(self, expr):
        return f"np.exp({self._print(expr.args[0])})"

    def _print_Log(self, expr):
        return f"np.log({self._print(expr.args[0])})"

    def _print_Tanh(self, expr):
        return f"np.tanh({self._print(expr.args[0])})"

    def _print_Sigmoid(self, expr):
        return f"sigmoid({self._print(expr.args[0])})"

    def _print_LogSigmoid(self, expr):
        c, m = _coeff(expr.args[0])
        if c == -1:  # log sigma(-x) = -log(1 + e^x)
            return f"-np.logaddexp(0.0, {self._print(m)})"
        return f"log_sigmoid({self._print(expr.args[0])})"

    def _print_Softplus(self, expr):
        return f"np.logaddexp(0.0, {self._print(expr.args[0])})"

    def _print_Relu(self, expr):
        return f"np.maximum({self._print(expr.args[0])}, 0.0)"

    def _print_Step(self, expr):
        arg = expr.args[0]
        if isinstance(arg, MatAdd) and len(arg.args) == 2:  # [A > B]
            pos = [a for a in arg.args if not _negative(a)]
            neg = [a for a in arg.args if _negative(a)]
            if len(pos) == 1 and len(neg) == 1:
                return f"({self._print(pos[0])} > {self._print(-neg[0])})"
        return f"({self._print(arg)} > 0)"

    def _print_Power(self, expr):
        x, p = expr.args
        if p == -1:
            return f"1.0 / {self.wrap(self._print(x))}"
        if p == 2:
            text = self.wrap(self._print(x))
            return f"{text} * {text}" if _SIMPLE.match(text) else f"np.square({self._print(x)})"
        return f"{self.wrap(self._print(x))} ** {self._coefficient(p)}"

    def _print_Minimum(self, expr):
        return f"np.minimum({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    # -- over an axis ------------------------------------------------------------------------------
    def _axis(self, node):
        return "" if node.axis == 0 else f", axis={node.axis}"

    def _print_Softmax(self, expr):
        return f"softmax({self._print(expr.args[0])}{self._axis(expr)})"

    def _print_LogSoftmax(self, expr):
        return f"log_softmax({self._print(expr.args[0])}{self._axis(expr)})"

    def _print_LogSumExp(self, expr):
        return f"logsumexp({self._print(expr.args[0])}{self._axis(expr)})"

    def _print_Total(self, expr):
        return f"np.sum({self._print(expr.args[0])})"

    def _print_FrobeniusSq(self, expr):
        text = self._print(expr.args[0])
        return f"np.vdot({text}, {text})" if _SIMPLE.match(text) else f"np.sum(np.square({text}))"

    # -- indexing ------------------------------------------------------------------------------------
    def _print_Take(self, expr):
        v, idx = expr.args
        if isinstance(v, Gather) and v.axis == 1 and not is_array(v.args[1]) and not is_array(idx):  # M[i, j]
            return f"{self.wrap(self._print(v.args[0]))}[{self._print(idx)}, {self._print(v.args[1])}]"
        return f"{self.wrap(self._print(v))}[{self._print(idx)}]"

    def _print_Gather(self, expr):
        M, idx, _ = expr.args
        if expr.axis == 1:
            return self.column(M, idx)
        return self.row(M, idx)

    def _print_Pick(self, expr):
        S_, idx, _ = expr.args
        helper = "pick_rows" if expr.axis == 1 else "pick"
        return f"{helper}({self._print(S_)}, {self._print(idx)})"

    def _print_OneHot(self, expr):
        idx, n = expr.args[:2]
        if not is_array(idx):
            return f"one_hot({self._print(idx)}, {self._print(n)})"
        helper = "one_hot_rows" if expr.axis == 1 else "one_hot_columns"
        return f"{helper}({self._print(idx)}, {self._print(n)})"

    def _print_ScatterTake(self, expr):
        g, idx, n = expr.args
        c, m = _coeff(g)
        flat = self._print(idx) if len(idx.shape) == 1 else f"{self.wrap(self._print(idx))}.ravel()"
        if isinstance(m, OneMatrix):
            counts = f"np.bincount({flat}, minlength={self._print(n)})"
            return counts if c == 1 else self._scaled(c, counts)
        weights = self._print(g) if len(idx.shape) == 1 else f"{self.wrap(self._print(g))}.ravel()"
        return f"np.bincount({flat}, weights={weights}, minlength={self._print(n)})"

    def _print_Scatter(self, expr):
        g, idx, n, _ = expr.args
        helper = "scatter_columns" if expr.axis == 1 else "scatter_rows"
        return f"{helper}({self._print(g)}, {self._print(idx)}, {self._print(n)})"

    def _print_Tuple(self, expr):
        # softmax and log-sum-exp of the same scores share one shifted exp
        if len(expr) == 2 and isinstance(expr[0], Softmax) and isinstance(expr[1], LogSumExp) \
                and expr[0].args == expr[1].args:
            return f"softmax_and_logsumexp({self._print(expr[0].args[0])}{self._axis(expr[0])})"
        return super()._print_Tuple(expr)


def _parenthesized(text: str) -> bool:
    if not text.startswith("("):
        return False
    depth = 0
    for k, ch in enumerate(text):
        depth += ch in "([" and 1 or ch in ")]" and -1 or 0
        if depth == 0:
            return k == len(text) - 1
    return False


def _balanced_call(text: str) -> bool:
    """f(...) or x[...] whose outer brackets enclose everything after the name."""
    found = re.match(r"^[A-Za-z_][\w.]*", text)
    if not found or found.end() == len(text):
        return False
    depth = 0
    for k, ch in enumerate(text[found.end():], start=found.end()):
        depth += ch in "([" and 1 or ch in ")]" and -1 or 0
        if depth == 0 and k != len(text) - 1:
            return False
    return depth == 0


def _coeff(x):
    if isinstance(x, MatMul):
        c, factors = x.as_coeff_matrices()
        return c, factors[0] if len(factors) == 1 else MatMul(*factors)
    return sp.S.One, x


def _negative(term) -> bool:
    c, _ = _coeff(term)
    return c.could_extract_minus_sign()


def _negated_one_hot(term):
    """The OneHot node of a term -e_o (or minus one-hot rows or columns), else None."""
    c, m = _coeff(term)
    if c == -1 and isinstance(m, OneHot):
        return m
    return None


def _masked_log(args):
    """[X > 0] ⊙ log X ⊙ ...: the mask guards the log (0 where X = 0, no -inf, no warning)."""
    for mask in args:
        if not isinstance(mask, Step):
            continue
        for log in args:
            if isinstance(log, Log) and log.args[0] == mask.args[0]:
                return mask, log, [a for a in args if a is not mask and a is not log]
    return None


def to_numpy(expr, names=None) -> str:
    return NumPyCode(names).doprint(expr)


# -- the helpers the generated code calls -----------------------------------------------------------

RUNTIME = {
    "softmax": '''
def softmax(x, axis=0):
    """Softmax over an axis (0: each column of a matrix, or a vector), shifted by the max: no overflow at |x| = 1000."""
    if axis == 0:
        z = np.exp(x - np.max(x, axis=0))
        return z / np.sum(z, axis=0)
    z = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return z / np.sum(z, axis=axis, keepdims=True)
''',
    "logsumexp": '''
def logsumexp(x, axis=0):
    """log sum exp over an axis, shifted by the max."""
    if axis == 0:
        top = np.max(x, axis=0)
        return top + np.log(np.sum(np.exp(x - top), axis=0))
    top = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(top + np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)), axis=axis)
''',
    "log_softmax": '''
def log_softmax(x, axis=0):
    """x - logsumexp(x) over an axis: never the log of an underflowed 0."""
    top = np.max(x, axis=axis, keepdims=True)
    return x - (top + np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)))
''',
    "softmax_and_logsumexp": '''
def softmax_and_logsumexp(x, axis=0):
    """(softmax(x), logsumexp(x)) over an axis, from one shifted exp."""
    if axis == 0:
        top = np.max(x, axis=0)
        z = np.exp(x - top)
        total = np.sum(z, axis=0)
        z /= total
        return z, top + np.log(total)
    top = np.max(x, axis=axis, keepdims=True)
    z = np.exp(x - top)
    total = np.sum(z, axis=axis, keepdims=True)
    z /= total
    return z, np.squeeze(top + np.log(total), axis=axis)
''',
    "minus_one_hot": '''
def minus_one_hot(x, index):
    """x - e_index, without building e_index."""
    out = np.array(x, dtype=float)
    out[index] -= 1.0
    return out
''',
    "minus_one_hot_rows": '''
def minus_one_hot_rows(X, indices):
    """X minus the one-hot rows of indices: 1 is subtracted at (i, indices[i])."""
    out = np.array(X, dtype=float)
    out[np.arange(len(indices)), indices] -= 1.0
    return out
''',
    "minus_one_hot_columns": '''
def minus_one_hot_columns(X, indices):
    """X minus the one-hot columns of indices: 1 is subtracted at (indices[b], b)."""
    out = np.array(X, dtype=float)
    out[indices, np.arange(len(indices))] -= 1.0
    return out
''',
    "sigmoid": '''
def sigmoid(x):
    """Logistic function, stable for large |x|: exp is only taken of -|x|."""
    x = np.asarray(x, dtype=float)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
''',
    "log_sigmoid": '''
def log_sigmoid(x):
    """log sigmoid(x) = -log(1 + exp(-x)), stable for large |x|."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=float))
''',
    "one_hot": '''
def one_hot(index, n):
    out = np.zeros(n)
    out[index] = 1.0
    return out
''',
    "one_hot_rows": '''
def one_hot_rows(indices, n):
    out = np.zeros((len(indices), n))
    out[np.arange(len(indices)), indices] = 1.0
    return out
''',
    "one_hot_columns": '''
def one_hot_columns(indices, n):
    out = np.zeros((n, len(indices)))
    out[indices, np.arange(len(indices))] = 1.0
    return out
''',
    "place_column": '''
def place_column(x, index, n):
    """The n-column matrix that is x in column index and zero elsewhere."""
    out = np.zeros((len(x), n))
    out[:, index] = x
    return out
''',
    "place_row": '''
def place_row(x, index, n):
    """The n-row matrix that is x in row index and zero elsewhere."""
    out = np.zeros((n, len(x)))
    out[index] = x
    return out
''',
    "scatter_rows": '''
def scatter_rows(x, indices, n):
    """Sum the rows of x into n rows at indices (repeated indices add up)."""
    out = np.zeros((n, x.shape[1]))
    np.add.at(out, indices, x)
    return out
''',
    "scatter_columns": '''
def scatter_columns(x, indices, n):
    """Sum the columns of x into n columns at indices (repeated indices add up)."""
    out = np.zeros((n, x.shape[0]))
    np.add.at(out, indices, x.T)
    return out.T
''',
    "pick": '''
def pick(S, indices):
    """The entries S[indices[b], b], one per column."""
    return S[indices, np.arange(S.shape[1])]
''',
    "pick_rows": '''
def pick_rows(S, indices):
    """The entries S[i, indices[i]], one per row."""
    return S[np.arange(S.shape[0]), indices]
''',
    "masked_log": '''
def masked_log(X):
    """log X where X > 0 and 0 elsewhere: the mask [X > 0] times log X, without log 0."""
    return np.log(X, out=np.zeros(np.shape(X)), where=X > 0)
''',
}


def helpers(code: str) -> list[str]:
    """The runtime helpers a piece of generated code calls, in RUNTIME's order."""
    return [name for name in RUNTIME if re.search(rf"(?<![\w.]){name}\(", code)]


# -- LaTeX ------------------------------------------------------------------------------------------


class ModelLatexPrinter(LatexPrinter):
    def _print_MatrixSymbol(self, expr):
        name = expr.name
        for decor, macro in (("_tilde", r"\tilde"), ("tilde", r"\tilde"), ("_hat", r"\hat"), ("hat", r"\hat")):
            if name.endswith(decor) and len(name) > len(decor):
                return rf"{macro}{{{name[: -len(decor)]}}}"
        if "_" in name:
            head, tail = name.split("_", 1)
            return rf"{head}_{{{tail}}}"
        return name if len(name) == 1 or name[0] == "d" and len(name) <= 3 else rf"\mathrm{{{name}}}"

    def _print_OneMatrix(self, expr):
        return r"\mathbf{1}"

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(self.parenthesize(a, 60) for a in expr.args)


def to_latex(expr) -> str:
    return ModelLatexPrinter().doprint(expr)
