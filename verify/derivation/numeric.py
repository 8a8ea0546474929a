"""The value of a SymPy expression at a point, in double precision, each distinct subexpression
computed once per point.

Checking compares both sides of a step at random values of the variables' entries (to a relative
1e-8, steps.py).  Substituting the numbers into the exact expression (xreplace) and then calling
evalf rebuilds the whole expression tree, with SymPy's flattening and assumptions, for every
value; but the values of one instantiation share most of their subexpressions (a softmax's
denominator is in every entry of every side that uses it).  Here an expression is walked once,
each node's number kept in a memo that lives as long as the point, so the next expression at the
same point only computes what is new in it.

The arithmetic is IEEE double, real while it can be (complex only for a logarithm or a root of a
negative number, as SymPy's principal values), which is the precision evalf works at too (15
digits).  A node of a kind not listed here is evaluated by SymPy itself (xreplace, evalf), and a
point where double precision overflows, divides by zero or is undefined gets no fast value:
the caller then evaluates the whole expression the exact way.
"""
from __future__ import annotations

import cmath
import math

import sympy as sp

__all__ = ["NoValue", "Point"]


class NoValue(Exception):
    """Double precision has no value here (overflow, division by zero, a domain error)."""


def _exp(z):
    return math.exp(z) if isinstance(z, float) else cmath.exp(z)


def _log(z):
    if isinstance(z, float) and z > 0:
        return math.log(z)
    if z == 0:
        raise NoValue("log(0)")
    return cmath.log(z)


def _unary(real, complex_):
    return lambda z: real(z) if isinstance(z, float) else complex_(z)


def _power(base, exponent):
    if isinstance(base, float) and isinstance(exponent, float):
        if base >= 0 or exponent.is_integer():
            if base == 0 and exponent < 0:
                raise NoValue("division by zero")
            return math.pow(base, exponent)
    if base == 0:
        if exponent == 0:
            return 1.0
        if (exponent.real if isinstance(exponent, complex) else exponent) < 0:
            raise NoValue("division by zero")
        return 0.0
    return complex(base) ** exponent


def _max(*args):
    if not all(isinstance(a, float) for a in args):
        raise NoValue("max of complex numbers")
    return max(args)


def _min(*args):
    if not all(isinstance(a, float) for a in args):
        raise NoValue("min of complex numbers")
    return min(args)


_FUNCTIONS = {
    sp.exp: _exp,
    sp.log: _log,
    sp.tanh: _unary(math.tanh, cmath.tanh),
    sp.sinh: _unary(math.sinh, cmath.sinh),
    sp.cosh: _unary(math.cosh, cmath.cosh),
    sp.sin: _unary(math.sin, cmath.sin),
    sp.cos: _unary(math.cos, cmath.cos),
    sp.Abs: abs,
    sp.Max: _max,
    sp.Min: _min,
}


class Point:
    """Values of expressions at one point: numbers maps each symbol to a float (a mapping that may
    draw a symbol's value the first time it is asked, as steps._Numbers does)."""

    def __init__(self, numbers):
        self.numbers = numbers
        self.memo: dict = {}  # node -> float or complex: the nodes are kept alive by the expressions

    def value(self, expr):
        """expr's number (a float, or a complex where a principal value is complex); raises
        NoValue where double precision has none."""
        try:
            out = self._value(sp.sympify(expr))
        except (OverflowError, ZeroDivisionError, ValueError, TypeError, KeyError, RecursionError) as e:
            raise NoValue(str(e)) from None
        if not (math.isfinite(out.real) and math.isfinite(out.imag)):
            raise NoValue("not finite")
        return out

    def _value(self, node):
        memo = self.memo
        out = memo.get(node)
        if out is not None:
            return out
        if node.is_Symbol:
            out = float(self.numbers[node])
        elif node.is_Number:
            if node.is_Rational:
                out = node.p / node.q if node.q != 1 else float(node.p)
            elif node.is_Float:
                out = float(node)
            else:  # zoo, oo, nan
                raise NoValue(str(node))
        elif node.is_Add:
            out = 0.0
            for a in node.args:
                out = out + self._value(a)
        elif node.is_Mul:
            out = 1.0
            for a in node.args:
                out = out * self._value(a)
        elif node.is_Pow:
            out = _power(self._value(node.args[0]), self._value(node.args[1]))
        else:
            f = _FUNCTIONS.get(node.func)
            if f is not None:
                out = f(*[self._value(a) for a in node.args])
            elif node is sp.E:
                out = math.e
            elif node is sp.pi:
                out = math.pi
            elif node is sp.I:
                out = 1j
            else:
                out = self._by_sympy(node)
        if isinstance(out, complex) and out.imag == 0:
            out = out.real  # real again (log(-1) * 0): the real functions apply from here
        memo[node] = out
        return out

    def _by_sympy(self, node):
        """A node of another kind (a Piecewise, a Heaviside, an unevaluated derivative): SymPy's
        own substitution and evalf, as for the whole expression."""
        for x in node.free_symbols:
            self.numbers[x]  # drawn as it appears
        value = complex(sp.sympify(node.xreplace(self.numbers)).evalf())
        return value.real if value.imag == 0 else value
