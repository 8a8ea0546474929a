"""One vector-Jacobian rule per primitive, in a table (in the spirit of HIPS/autograd's
numpy_vjps).

A rule takes the node and g, the gradient of the objective with respect to the node's value
(g has the node's shape), and returns (argument, contribution) pairs: the gradient flowing to
each argument, with that argument's shape.  Arguments that are not matrices (axes, index
arrays, sizes, scalar exponents) get nothing.  Broadcasting is explicit in the expressions
(1 b^T), so no rule needs to undo it.
"""
from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy import HadamardProduct, MatAdd, MatMul, MatrixExpr, OneMatrix, Transpose

from .algebra import (Exp, FrobeniusSq, Gather, Log, LogSigmoid, LogSoftmax, LogSumExp, Minimum, OneHot, Pick, Power,
                      Relu, Scale, Scatter, ScatterTake, Sigmoid, Softmax, Softplus, Step, Take, Tanh, Total)

Rule = Callable[[MatrixExpr, MatrixExpr], list]


def ones(rows, cols) -> MatrixExpr:
    return OneMatrix(rows, cols)


def hadamard(*xs) -> MatrixExpr:
    return HadamardProduct(*xs)


def mm(*xs) -> MatrixExpr:
    return MatMul(*xs).doit(deep=False)


def spread(g, node_axis: int, shape) -> MatrixExpr:
    """A vector with one entry per row (axis 1) or per column (axis 0), repeated along that axis."""
    rows, cols = shape
    if node_axis == 1:  # g is rows x 1: g 1^T
        return mm(g, ones(1, cols)) if cols != 1 else g
    return mm(ones(rows, 1), Transpose(g)) if rows != 1 else Transpose(g)


def reduce(x, axis: int) -> MatrixExpr:
    """Sums over an axis as a vector: each row's sum (axis 1) or each column's (axis 0)."""
    rows, cols = x.shape
    if axis == 1:
        return mm(x, ones(cols, 1))
    return mm(Transpose(x), ones(rows, 1)) if rows != 1 else Transpose(x)


# -- linear algebra ------------------------------------------------------------------------------


def _matadd(node, g):
    return [(term, g) for term in node.args]


def _matmul(node, g):
    coeff, factors = node.as_coeff_matrices()
    out = []
    for k, factor in enumerate(factors):
        left = [Transpose(f) for f in reversed(factors[:k])]
        right = [Transpose(f) for f in reversed(factors[k + 1:])]
        out.append((factor, mm(coeff, *left, g, *right) if coeff != 1 else mm(*left, g, *right)))
    return out


def _transpose(node, g):
    return [(node.arg, Transpose(g))]


def _hadamard(node, g):
    args = node.args
    return [(a, hadamard(g, *[b for q, b in enumerate(args) if q != k])) for k, a in enumerate(args)]


def _scale(node, g):
    s, M = node.args
    return [(s, Total(hadamard(g, M))), (M, Scale(s, g))]


# -- elementwise ---------------------------------------------------------------------------------


def _elementwise(derivative):
    """g times the derivative, entry by entry."""
    def rule(node, g):
        x = node.args[0]
        return [(x, hadamard(g, derivative(node, x)))]
    return rule


RULES: dict[type, Rule] = {
    MatAdd: _matadd,
    MatMul: _matmul,
    Transpose: _transpose,
    HadamardProduct: _hadamard,
    Scale: _scale,
    Exp: _elementwise(lambda ans, x: ans),
    Log: _elementwise(lambda ans, x: Power(x, -1)),
    Tanh: _elementwise(lambda ans, x: MatAdd(ones(*x.shape), -Power(ans, 2))),
    Sigmoid: _elementwise(lambda ans, x: hadamard(ans, Sigmoid(-x))),  # sigma(x) sigma(-x)
    LogSigmoid: _elementwise(lambda ans, x: Sigmoid(-x)),
    Softplus: _elementwise(lambda ans, x: Sigmoid(x)),
    Relu: _elementwise(lambda ans, x: Step(x)),  # relu'(0) = 0
    Step: lambda node, g: [],  # a mask: its derivative is 0 wherever it has one
    Power: lambda node, g: [(node.args[0], hadamard(g, node.args[1] * Power(node.args[0], node.args[1] - 1)))],
    Minimum: lambda node, g: [(node.args[0], hadamard(g, Step(MatAdd(node.args[1] * ones(*node.shape),
                                                                      -node.args[0]))))],
    # -- over an axis: g - (its weighted sum), as autograd's softmax and logsumexp rules
    Softmax: lambda node, g: [(node.args[0], hadamard(node, MatAdd(g, -spread(reduce(hadamard(g, node), node.axis),
                                                                              node.axis, node.shape))))],
    LogSoftmax: lambda node, g: [(node.args[0], MatAdd(g, -hadamard(Softmax(*node.args),
                                                                   spread(reduce(g, node.axis), node.axis, node.shape))))],
    LogSumExp: lambda node, g: [(node.args[0], hadamard(spread(g, node.axis, node.args[0].shape), Softmax(*node.args)))],
    Total: lambda node, g: [(node.args[0], mm(ones(node.args[0].shape[0], 1), g, ones(1, node.args[0].shape[1])))],
    FrobeniusSq: lambda node, g: [(node.args[0], 2 * Scale(g, node.args[0]))],
    # -- indexing: picking entries scatters the gradient back, repeats adding up
    Take: lambda node, g: [(node.args[0], ScatterTake(g, node.args[1], node.args[0].shape[0]))],
    Gather: lambda node, g: [(node.args[0], Scatter(g, node.args[1], node.args[0].shape[node.axis], node.axis))],
    Pick: lambda node, g: [(node.args[0], hadamard(
        OneHot(node.args[1], node.args[0].shape[node.axis], node.axis), spread(g, node.axis, node.args[0].shape)))],
    ScatterTake: lambda node, g: [(node.args[0], Take(g, node.args[1]))],
    Scatter: lambda node, g: [(node.args[0], Gather(g, node.args[1], node.axis))],
}

# the printed names of the rules, for the README's table and the tests
CONSTANTS = (OneHot, sp.OneMatrix, sp.Identity, sp.ZeroMatrix)


def rule_for(node) -> Rule | None:
    for cls in type(node).__mro__:
        if cls in RULES:
            return RULES[cls]
    return None
