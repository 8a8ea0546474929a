"""The second, independent check: the same statement at explicit small sizes.

Sizes take the model file's values and index inputs their examples; every Sum expands into
a finite sum, the objective is differentiated entry by entry with ordinary scalar calculus,
and derived minus claimed must vanish as a rational function of the exponentials, for every
admitted value of the free indices.  It shares no rewriting with the symbolic prover.

Where it finds a difference, the difference is evaluated in numbers at random values of the
entries: a claim is refuted only by such a counterexample (a difference the rational test
cannot see through, such as x [x > 0] against relu(x), is not one).
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

import sympy as sp
from sympy import Indexed, IndexedBase

from .algebra import ExpFn, MinFn, ReluFn, StepFn


@dataclass(frozen=True)
class ExplicitCheck:
    holds: bool
    cases: int  # index assignments checked
    counterexample: str = ""  # where it fails, with numbers when they differ
    refuted: bool = False  # a numeric difference was found


class Instance:
    """A model at its explicit sizes: sizes and index inputs replaced by numbers."""

    def __init__(self, model):
        self.model = model
        self.sizes = {sym: sp.Integer(model.spec.sizes[name]) for name, sym in model.sizes.items()}
        self.scalars, self.arrays = {}, {}
        for name, sym in model.inputs.items():
            inp = model.spec.inputs[name]
            if inp.role != "index":
                continue
            hi = int(model.ranges[sym][1].xreplace(self.sizes))
            if isinstance(sym, IndexedBase):
                shape = tuple(int(sp.sympify(d).xreplace(self.sizes)) for d in sym.shape)
                self.arrays[name] = _example_array(inp.example, shape, hi, name)
            else:
                self.scalars[sym] = sp.Integer(_example_scalar(inp.example, hi))

    def size(self, expr) -> int:
        return int(sp.sympify(expr).xreplace(self.sizes))

    def values(self) -> dict[str, object]:
        """The index inputs' values, for messages and conditions."""
        out = {s.name: int(v) for s, v in self.scalars.items()}
        out.update(self.arrays)
        return out

    def __call__(self, expr, extra=None):
        """expr at the explicit sizes, every Sum written out term by term.  (SymPy's Sum.doit
        is both slow here and wrong on sums of exponentials at symbolic sizes; this only ever
        substitutes numbers.)"""
        expr = sp.sympify(expr).xreplace({**self.sizes, **self.scalars, **(extra or {})})
        return self._expand(self._arrays(expr))

    def _arrays(self, expr):
        entries = [e for e in expr.atoms(Indexed)
                   if e.base.label.name in self.arrays and all(q.is_Integer for q in e.indices)]
        if not entries:
            return expr
        return expr.xreplace({e: sp.Integer(_pick(self.arrays[e.base.label.name], e.indices)) for e in entries})

    def _expand(self, expr):
        if isinstance(expr, sp.Sum):
            body = expr.function
            limits = list(expr.limits)
            var, lo, hi = limits[-1]  # the outermost binder last
            if len(limits) > 1:
                body = sp.Sum(body, *limits[:-1])
            if not (lo.is_Integer and hi.is_Integer):
                raise ValueError(f"a sum whose range is not explicit: {sp.sstr(lo)}..{sp.sstr(hi)}")
            return sp.Add(*[self._expand(_explicit_elements(self._arrays(body.xreplace({var: sp.Integer(k)}))))
                            for k in range(int(lo), int(hi) + 1)])
        if not expr.args or isinstance(expr, (Indexed, IndexedBase, sp.Symbol)):
            return expr
        args = [self._expand(a) for a in expr.args]
        return expr.func(*args) if any(a is not b for a, b in zip(args, expr.args)) else expr


class Explicit:
    """Matrix expressions evaluated at the explicit sizes, node by node, into explicit SymPy
    matrices whose entries are scalar expressions in the inputs' entries (W[0, 1], X[2, 0]):
    each primitive's own entry definition, applied to its arguments' explicit values.  This
    shares nothing with the prover's rewriting; differentiating an entry is ordinary calculus."""

    def __init__(self, instance: Instance):
        self.instance = instance
        self.memo: dict = {}

    def __call__(self, expr, assignment=None):
        inst = self.instance
        fixed = {**inst.sizes, **inst.scalars, **(assignment or {})}
        expr = sp.sympify(expr).xreplace(fixed)
        return self.value(expr)

    def value(self, expr):
        if expr in self.memo:
            return self.memo[expr]
        out = self._value(expr)
        self.memo[expr] = out
        return out

    def _value(self, expr):
        from sympy import HadamardProduct, MatAdd, MatMul, MatrixSymbol, OneMatrix, Transpose, ZeroMatrix, Identity

        inst = self.instance
        if not isinstance(expr, sp.MatrixExpr):
            return inst._expand(inst._arrays(expr)) if isinstance(expr, sp.Basic) else expr
        if isinstance(expr, sp.MatrixBase):
            return expr
        rows, cols = (int(d) for d in expr.shape)
        if isinstance(expr, MatrixSymbol):
            base = IndexedBase(expr.name)
            if cols == 1:
                return sp.ImmutableMatrix(rows, 1, lambda i, j: base[i])
            return sp.ImmutableMatrix(rows, cols, lambda i, j: base[i, j])
        if isinstance(expr, OneMatrix):
            return sp.ImmutableMatrix.ones(rows, cols)
        if isinstance(expr, ZeroMatrix):
            return sp.ImmutableMatrix.zeros(rows, cols)
        if isinstance(expr, Identity):
            return sp.ImmutableMatrix.eye(rows)
        if isinstance(expr, Transpose):
            return self.value(expr.arg).T
        if isinstance(expr, MatAdd):
            total = self.value(expr.args[0])
            for a in expr.args[1:]:
                total = total + self.value(a)
            return total
        if isinstance(expr, MatMul):
            c, factors = expr.as_coeff_matrices()
            out = self.value(factors[0])
            for f in factors[1:]:
                out = out * self.value(f)
            return (self.value(c) * out) if c != 1 else out
        if isinstance(expr, HadamardProduct):
            out = self.value(expr.args[0])
            for a in expr.args[1:]:
                out = out.multiply_elementwise(self.value(a))
            return out
        # a primitive: its entries, from its arguments' explicit values
        args = [self.value(a) if isinstance(a, sp.MatrixExpr) else a for a in expr.args]
        node = type(expr)(*args) if any(a is not b for a, b in zip(args, expr.args)) else expr
        return sp.ImmutableMatrix(rows, cols, lambda i, j: self.entry(node, i, j))

    def entry(self, node, i, j):
        inst = self.instance
        value = node._entry(sp.Integer(i), sp.Integer(j), expand=False)
        return _explicit_elements(inst._expand(inst._arrays(value)))


def _explicit_elements(expr):
    """M[i, j] of an explicit matrix with whole-number indices is its entry."""
    from sympy.matrices.expressions.matexpr import MatrixElement

    if not expr.has(MatrixElement):
        return expr
    return expr.replace(lambda e: isinstance(e, MatrixElement) and isinstance(e.parent, sp.MatrixBase)
                        and e.i.is_Integer and e.j.is_Integer, lambda e: e.parent[int(e.i), int(e.j)])


def _pick(value, indices):
    for q in indices:
        value = value[int(q)]
    return value


def _example_scalar(example, hi: int) -> int:
    if example is None:
        return min(1, hi)
    if type(example) is not int or not 0 <= example <= hi:
        raise ValueError(f"example {example!r} is not an index in [0, {hi}]")
    return example


def _example_array(example, shape, hi: int, name: str):
    if example is None:  # repeats, as in the hardest cases: 1, 1, 2, 2, ...
        flat = [((k // 2) + 1) % (hi + 1) for k in range(math.prod(shape))]
        if len(shape) == 1:
            return tuple(flat)
        return tuple(tuple(flat[r * shape[1]:(r + 1) * shape[1]]) for r in range(shape[0]))
    got = _shape_of(example)
    if got != shape or any(not 0 <= v <= hi for v in _flat(example)):
        raise ValueError(f"input {name}: example must have shape {list(shape)} with values in [0, {hi}]")
    return tuple(example) if len(shape) == 1 else tuple(tuple(row) for row in example)


def _shape_of(x):
    if isinstance(x, (list, tuple)):
        inner = {_shape_of(v) for v in x}
        return (len(x),) + (inner.pop() if len(inner) == 1 else ())
    return ()


def _flat(x):
    if isinstance(x, (list, tuple)):
        for v in x:
            yield from _flat(v)
    else:
        yield x


def vanishes(expr) -> bool:
    from .prover import rational_zero  # one rational-function test, shared with the prover's last step

    return rational_zero(expr)


def numeric_difference(instance: Instance, derived, claimed, seeds=range(6)) -> tuple[float, float, float] | None:
    """(derived, claimed, |difference|) at the first of a few random draws of the entries where
    they differ beyond rounding (masks agree at some draws: a mask missing where every unit is
    active changes nothing); None when no draw shows a difference."""
    for seed in seeds:
        rng = random.Random(seed)
        both = sp.sympify(derived), sp.sympify(claimed)
        symbols = sorted(set().union(*(e.free_symbols | e.atoms(Indexed) for e in both)), key=str)
        values = {}
        fixed = {name: inp.value for name, inp in instance.model.spec.inputs.items()
                 if inp.role == "scalar" and inp.value is not None}
        for s in symbols:
            if s.is_Symbol and s.name in fixed:  # a hyperparameter at its declared value
                values[s] = sp.Float(fixed[s.name], 30)
            elif isinstance(s, Indexed) or s.is_Symbol and not s.is_integer:
                values[s] = sp.Float(rng.uniform(0.3, 1.7) * rng.choice((-1, 1)) if not _positive(instance, s)
                                     else rng.uniform(0.3, 1.7), 30)
        try:
            d = complex(_evaluate(derived, values))
            c = complex(_evaluate(claimed, values))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            continue  # not a number at these values (a log of a negative draw): try the next seed
        if any(map(math.isnan, (d.real, c.real))) or abs(d.imag) + abs(c.imag) > 0:
            continue
        gap = abs(d - c)
        if gap > 1e-9 * max(1.0, abs(d), abs(c)):  # 30 digits: a difference, not rounding
            return d.real, c.real, gap
    return None


def _positive(instance, s) -> bool:
    """Data read through a log (counts) is drawn positive."""
    name = s.base.label.name if isinstance(s, Indexed) else s.name
    inp = instance.model.spec.inputs.get(name)
    return inp is not None and (inp.distribution in ("log-uniform", "integers") or (inp.low or 0) > 0) \
        or (s.is_Symbol and s.is_positive)


def _evaluate(expr, values):
    expr = expr.xreplace(values)
    expr = expr.replace(lambda e: isinstance(e, ExpFn), lambda e: sp.exp(e.args[0]))
    expr = expr.replace(lambda e: isinstance(e, StepFn), lambda e: sp.Integer(1) if e.args[0] > 0 else sp.Integer(0))
    expr = expr.replace(lambda e: isinstance(e, ReluFn), lambda e: sp.Max(0, e.args[0]))
    expr = expr.replace(lambda e: isinstance(e, MinFn), lambda e: sp.Min(*e.args))
    return sp.N(expr, 30)


def run(instance: Instance, free: dict, pair, admits) -> ExplicitCheck:
    """free: index symbol -> (lo, hi) at symbolic sizes; pair(assignment) -> (derived, claimed)
    with the assignment already applied; admits(assignment) -> bool (a claim's condition)."""
    names = list(free)
    spans = [range(instance.size(lo), instance.size(hi) + 1) for lo, hi in free.values()]
    checked = 0
    for values in itertools.product(*spans):
        assignment = {q: sp.Integer(v) for q, v in zip(names, values)}
        if not admits(assignment):
            continue
        derived, claimed = pair(assignment)
        checked += 1
        if not vanishes(derived - claimed):
            where = ", ".join(f"{q}={v}" for q, v in zip(names, values))
            numbers = numeric_difference(instance, derived, claimed)
            if numbers is None:
                return ExplicitCheck(False, checked, f"not shown equal at {where or 'the explicit sizes'}")
            d, c, _ = numbers
            return ExplicitCheck(False, checked, f"{where + ': ' if where else ''}derived {d:.6g}, claimed {c:.6g}",
                                 refuted=True)
    return ExplicitCheck(checked > 0, checked, "" if checked else "no index value admitted")
