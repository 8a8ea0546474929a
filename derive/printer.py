"""A NumPy printer for the matrix forms the prover has checked.

SymPy's stock NumPyPrinter prints element-wise functions on matrices as invalid code and
matrix-expression assignments as a wrong einsum.  Each node of ``derive.algebra`` gets its
own ``_print_*`` method here, so extending code generation is adding a method.  Column
vectors (n x 1) are 1-D arrays in the generated code.
"""
from __future__ import annotations

import re

from sympy import MatAdd, MatMul, MatrixSymbol, OneMatrix, Transpose
from sympy.printing.numpy import NumPyPrinter

from .algebra import Gather, LogSigmoid, LogSumExp, OneHot, OneHotColumns, Sigmoid, Softmax, Total


def is_vector(M) -> bool:
    return M.shape[1] == 1


_SIMPLE = re.compile(r"^-?[A-Za-z_][\w.]*(\[[^\[\]]*\]|\([^()]*\)|\.[A-Za-z_]\w*)*$")


class ReferencePrinter(NumPyPrinter):
    def __init__(self, settings=None):
        super().__init__({"fully_qualified_modules": False, **(settings or {})})

    def parenthesize(self, item, level, strict=False):
        text = self._print(item)
        return text if _SIMPLE.match(text) and not text.startswith("-") else f"({text})"

    # names: a column vector is a 1-D array, a size or index is its own name
    def _print_MatrixSymbol(self, expr):
        return expr.name

    def _print_IndexedBase(self, expr):
        return str(expr.label)

    def _print_Transpose(self, expr):
        arg = expr.arg
        if isinstance(arg, Gather) and isinstance(arg.args[0], Transpose):  # (X^T)[:, w]^T = X[w]
            return f"{self.parenthesize(arg.args[0].arg, 1000)}[{self._print(arg.args[1])}]"
        if is_vector(arg):
            return self._print(arg)  # a 1-D array is its own transpose
        return f"{self.parenthesize(arg, 1000)}.T"

    def _print_MatAdd(self, expr):
        # X - e_o (or minus one-hot columns) subtracts 1 in place of a copy of X: building the
        # dense one-hot matrix costs a full extra pass over a |V| x B array
        hot = [a for a in expr.args if _negated_one_hot(a) is not None]
        if len(hot) == 1 and len(expr.args) > 1:
            rest = MatAdd(*[a for a in expr.args if a is not hot[0]])
            node = _negated_one_hot(hot[0])
            name = "minus_one_hot" if isinstance(node, OneHot) else "minus_one_hot_columns"
            return f"{name}({self._print(rest)}, {self._print(node.args[0])})"
        # positive terms first: softmax(s) - one_hot(o, W) reads as the claim does
        terms = sorted((self._print(a) for a in expr.args), key=lambda t: t.startswith("-"))
        out = terms[0]
        for term in terms[1:]:
            out += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
        return out

    def _print_MatMul(self, expr):
        scalar, factors = expr.as_coeff_matrices()
        body = self._print_product(list(factors))
        if scalar == 1:
            return body
        if scalar == -1:
            return f"-{body}"
        return f"{self.parenthesize(scalar, 40)} * {body}"

    def _print_product(self, factors):
        if len(factors) == 1:
            return self.parenthesize(factors[0], 50)
        *left, last = factors
        head = left[0] if len(left) == 1 else MatMul(*left)
        if isinstance(last, OneHot) and len(left) > 1:  # A B e_o = A (B e_o): never form A B
            return self._print_product(left[:-1] + [MatMul(left[-1], last)])
        if isinstance(last, OneHot):  # X e_o is the column o of X
            return f"{self._column(head, last.args[0])}"
        if isinstance(last, Transpose) and isinstance(last.arg, OneHot):  # X e_c^T fills column c
            return f"place_column({self._print(head)}, {self._print(last.arg.args[0])}, {self._print(last.arg.args[1])})"
        if isinstance(last, OneMatrix) and is_vector(last):
            return f"{self.parenthesize(head, 50)}.sum(axis=1)"
        if is_vector(head) and last.shape[0] == 1:  # column times row: a 1-D outer product
            return f"np.outer({self._print(head)}, {self._print(last)})"
        return f"{self.parenthesize(head, 50)} @ {self.parenthesize(last, 50)}"

    def _column(self, M, index):
        if isinstance(M, Transpose):
            return f"{self.parenthesize(M.arg, 1000)}[{self._print(index)}]"
        return f"{self.parenthesize(M, 1000)}[:, {self._print(index)}]"

    def _row(self, M, index):
        if isinstance(M, Transpose):
            return self._column(M.arg, index)
        if is_vector(M):
            return f"{self.parenthesize(M, 1000)}[{self._print(index)}]"
        return f"{self.parenthesize(M, 1000)}[{self._print(index)}]"

    def _print_MatrixElement(self, expr):
        return self._element(expr.parent, expr.i, expr.j)

    def _print_Elem(self, expr):
        return self._element(*expr.args)

    def _element(self, M, a, b):
        if isinstance(M, (LogSumExp, Total)) and M.args[0].shape[1] == 1 or isinstance(M, Total):
            return self._print(M)
        if isinstance(M, (Sigmoid, LogSigmoid)):  # evaluate the one entry, not the whole vector
            inner = self._element(M.args[0], a, b)
            return f"{'sigmoid' if isinstance(M, Sigmoid) else 'log_sigmoid'}({inner})"
        if isinstance(M, MatMul) and is_vector(M):
            *left, right = M.as_coeff_matrices()[1]
            head = left[0] if len(left) == 1 else MatMul(*left)
            return f"{self._row(head, a)} @ {self.parenthesize(right, 1000)}"
        if isinstance(M, MatrixSymbol) and M.shape == (1, 1):  # a named scalar result
            return M.name
        if isinstance(M, MatrixSymbol) and is_vector(M):
            return f"{M.name}[{self._print(a)}]"
        return f"{self.parenthesize(M, 1000)}[{self._print(a)}, {self._print(b)}]"

    # the nodes: one call each, defined in the generated module's preamble
    def _call(self, name, *args):
        return f"{name}({', '.join(self._print(a) for a in args)})"

    def _print_Softmax(self, expr):
        return self._call("softmax", expr.args[0])

    def _print_LogSumExp(self, expr):
        return self._call("logsumexp", expr.args[0])

    def _print_Sigmoid(self, expr):
        return self._call("sigmoid", expr.args[0])

    def _print_LogSigmoid(self, expr):
        return self._call("log_sigmoid", expr.args[0])

    def _print_OneHot(self, expr):
        return self._call("one_hot", *expr.args)

    def _print_OneHotColumns(self, expr):
        return self._call("one_hot_columns", expr.args[0], expr.args[1])

    def _print_Gather(self, expr):
        M, indices, _ = expr.args
        if isinstance(M, Transpose) and is_vector(M.arg):
            return f"{self.parenthesize(M.arg, 1000)}[{self._print(indices)}]"
        if isinstance(M, Transpose):
            return f"{self.parenthesize(M.arg, 1000)}[{self._print(indices)}].T"
        return self._column(M, indices)

    def _print_Scatter(self, expr):
        x, indices, n = expr.args
        if isinstance(x, OneMatrix):
            return f"np.bincount({self._print(indices)}, minlength={self._print(n)})"
        if is_vector(x):
            return f"np.bincount({self._print(indices)}, weights={self._print(x)}, minlength={self._print(n)})"
        return self._call("scatter_rows", x, indices, n)

    def _print_Tuple(self, expr):
        # softmax and log-sum-exp of the same scores share one shifted exp
        if len(expr) == 2 and isinstance(expr[0], Softmax) and isinstance(expr[1], LogSumExp) \
                and expr[0].args[0] == expr[1].args[0]:
            return self._call("softmax_and_logsumexp", expr[0].args[0])
        return super()._print_Tuple(expr)

    def _print_Pick(self, expr):
        return self._call("pick", *expr.args)

    def _print_Total(self, expr):
        return f"np.sum({self._print(expr.args[0])})"

    def _print_Negative(self, expr):
        return f"-{self.parenthesize(expr.args[0], 50)}"


def _negated_one_hot(term):
    """The OneHot / OneHotColumns node of a term -e_o, else None."""
    if isinstance(term, MatMul):
        scalar, factors = term.as_coeff_matrices()
        if scalar == -1 and len(factors) == 1 and isinstance(factors[0], (OneHot, OneHotColumns)):
            return factors[0]
    return None


def to_numpy(expr) -> str:
    return ReferencePrinter().doprint(expr)
