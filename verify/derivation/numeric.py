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

A derivative needed only for its numbers (the second and later instantiations: proofs and sizes
use the first) can be left undone (`Deferred`): its number at a point is computed by forward-mode
differentiation of the expression's tree, each node's derivative with respect to the variable
from its arguments' values and derivatives (dual numbers), exact rules in double precision, so
the number is the one the exact derivative's expression gives up to rounding.  Anything that
looks at a deferred derivative as an expression (a substitution, a further derivative, printing,
whether it is a number) gets the exact derivative (SymPy's), computed then.
"""
from __future__ import annotations

import cmath
import math

import sympy as sp

from .differentiate import derivative

__all__ = ["Deferred", "NoValue", "Point", "exact"]


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


class _Unsupported(Exception):
    """A node whose derivative forward mode does not take (the exact derivative's number is used)."""


class Deferred(sp.Expr):
    """d expr / d x, not differentiated yet.  Its number comes from forward mode (Point); every
    other use of it as an expression is that of the exact derivative (exact()), which SymPy
    computes on demand.  Its free symbols are the expression's (a superset of the derivative's)."""

    is_commutative = True

    def __new__(cls, expr, x):
        return sp.Expr.__new__(cls, expr, x)

    def exact(self):
        """SymPy's derivative (kept on the node: it is immutable)."""
        done = getattr(self, "_done", None)
        if done is None:
            done = self._done = derivative(exact(self.args[0]), self.args[1])
        return done

    @property
    def free_symbols(self):
        free = getattr(self, "_free", None)
        if free is None:  # kept on the node (it is immutable): the owners of every value containing it ask
            free = self._free = self.args[0].free_symbols
        return set(free)

    @property
    def is_number(self):
        return self.exact().is_number

    def _eval_derivative(self, s):
        return self.exact().diff(s)

    def _eval_subs(self, old, new):
        return self.exact()._subs(old, new)

    def _xreplace(self, rule):
        if self in rule:
            return rule[self], True
        value, _ = self.exact()._xreplace(rule)
        return value, True

    def _eval_evalf(self, prec):
        return self.exact()._eval_evalf(prec)

    def doit(self, **hints):
        return self.exact().doit(**hints)

    def _sympystr(self, printer):
        return printer._print(self.exact())

    def _latex(self, printer):
        return printer._print(self.exact())


def exact(value):
    """value with every deferred derivative in it done (SymPy's): for any use other than numbers."""
    if isinstance(value, sp.MatrixBase):
        return value.applyfunc(exact) if any(isinstance(e, sp.Basic) and e.has(Deferred) for e in value) else value
    if isinstance(value, Deferred):
        return value.exact()
    if isinstance(value, sp.Basic) and value.has(Deferred):
        return value.xreplace({d: d.exact() for d in value.atoms(Deferred)})
    return value


def _heaviside(z):  # SymPy's Heaviside, with its value 1/2 at 0 (the derivative of Max and Min)
    return 1.0 if z > 0 else 0.0 if z < 0 else 0.5


# d f(a) / d a at a (value v = f(a)): the rules SymPy's fdiff gives for these functions
_DERIVATIVES = {
    sp.exp: lambda a, v: v,
    sp.log: lambda a, v: 1 / a,
    sp.tanh: lambda a, v: 1 - v * v,
    sp.sinh: lambda a, v: _FUNCTIONS[sp.cosh](a),
    sp.cosh: lambda a, v: _FUNCTIONS[sp.sinh](a),
    sp.sin: lambda a, v: _FUNCTIONS[sp.cos](a),
    sp.cos: lambda a, v: -_FUNCTIONS[sp.sin](a),
}


class Point:
    """Values of expressions at one point: numbers maps each symbol to a float (a mapping that may
    draw a symbol's value the first time it is asked, as steps._Numbers does)."""

    def __init__(self, numbers):
        self.numbers = numbers
        self.memo: dict = {}  # node -> float or complex: the nodes are kept alive by the expressions
        self.slopes: dict = {}  # (node, variable) -> d node / d variable at the point (forward mode)

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
            elif isinstance(node, Deferred):
                out = self._deferred(node)
            else:
                out = self._by_sympy(node)
        if isinstance(out, complex) and out.imag == 0:
            out = out.real  # real again (log(-1) * 0): the real functions apply from here
        memo[node] = out
        return out

    def _deferred(self, node):
        """A deferred derivative's number, by forward mode; where forward mode has none (a node it
        does not take, a division by zero an exact form may not have), the exact derivative's."""
        expr, x = node.args
        try:
            out = self._slope(expr, x)
            if math.isfinite(out.real) and math.isfinite(out.imag):
                return out
        except (_Unsupported, NoValue, OverflowError, ZeroDivisionError, ValueError, TypeError, RecursionError):
            pass
        return self._value(node.exact())

    def _slope(self, node, x):
        """d node / d x at the point: the chain rule over the tree, every node's value from the
        value memo, every node's slope kept (per variable) for the other derivatives here."""
        key = (node, x)
        slopes = self.slopes
        out = slopes.get(key)
        if out is not None:
            return out
        if node.is_Symbol:
            out = 1.0 if node == x else 0.0
        elif node.is_Number or node is sp.E or node is sp.pi or node is sp.I:
            out = 0.0
        elif node.is_Add:
            out = 0.0
            for a in node.args:
                out = out + self._slope(a, x)
        elif node.is_Mul:
            value, out = 1.0, 0.0
            for a in node.args:
                va, da = self._value(a), self._slope(a, x)
                out = out * va + value * da
                value = value * va
        elif node.is_Pow:
            base, exponent = node.args
            db, de = self._slope(base, x), self._slope(exponent, x)
            vb, ve = self._value(base), self._value(exponent)
            if de == 0:
                out = 0.0 if db == 0 else ve * _power(vb, ve - 1) * db
            else:  # b^e (e' log b + e b' / b), as SymPy's Pow derivative
                out = self._value(node) * (de * _log(vb) + (ve * db / vb if db != 0 else 0.0))
        elif node.func in _DERIVATIVES and len(node.args) == 1:
            (a,) = node.args
            da = self._slope(a, x)
            out = 0.0 if da == 0 else _DERIVATIVES[node.func](self._value(a), self._value(node)) * da
        elif node.func in (sp.Max, sp.Min) and len(node.args) == 2:
            (a, b), (va, vb) = node.args, (self._value(node.args[0]), self._value(node.args[1]))
            if not (isinstance(va, float) and isinstance(vb, float)):
                raise _Unsupported("Max of complex numbers")
            da, db = self._slope(a, x), self._slope(b, x)
            sign = 1 if node.func is sp.Max else -1
            out = _heaviside(sign * (va - vb)) * da + _heaviside(sign * (vb - va)) * db
        elif x not in node.free_symbols:
            out = 0.0
        else:
            raise _Unsupported(type(node).__name__)
        if isinstance(out, complex) and out.imag == 0:
            out = out.real
        slopes[key] = out
        return out

    def _by_sympy(self, node):
        """A node of another kind (a Piecewise, a Heaviside, an unevaluated derivative): SymPy's
        own substitution and evalf, as for the whole expression."""
        for x in node.free_symbols:
            self.numbers[x]  # drawn as it appears
        value = complex(sp.sympify(node.xreplace(self.numbers)).evalf())
        return value.real if value.imag == 0 else value
