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

from .algebra import MinFn, ReluFn, StepFn


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
            return sp.Add(*[self._expand(self._arrays(body.xreplace({var: sp.Integer(k)})))
                            for k in range(int(lo), int(hi) + 1)])
        if not expr.args or isinstance(expr, (Indexed, IndexedBase, sp.Symbol)):
            return expr
        args = [self._expand(a) for a in expr.args]
        return expr.func(*args) if any(a is not b for a, b in zip(args, expr.args)) else expr


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


def numeric_difference(instance: Instance, derived, claimed, seeds=(0, 1)) -> tuple[float, float, float] | None:
    """(derived, claimed, |difference|) at random values of the entries where they differ
    beyond rounding at every seed; None when they agree at some seed."""
    worst = None
    for seed in seeds:
        rng = random.Random(seed)
        symbols = sorted((derived - claimed).free_symbols | set((derived - claimed).atoms(Indexed)), key=str)
        values = {}
        for s in symbols:
            if isinstance(s, Indexed) or s.is_Symbol and not s.is_integer:
                values[s] = sp.Float(rng.uniform(0.3, 1.7) * rng.choice((-1, 1)) if not _positive(instance, s)
                                     else rng.uniform(0.3, 1.7), 30)
        try:
            d = complex(_evaluate(derived, values))
            c = complex(_evaluate(claimed, values))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None
        if any(map(math.isnan, (d.real, c.real))):
            return None
        gap = abs(d - c)
        if gap <= 1e-9 * max(1.0, abs(d), abs(c)):
            return None
        worst = (d.real, c.real, gap)
    return worst


def _positive(instance, s) -> bool:
    """Data read through a log (counts) is drawn positive."""
    name = s.base.label.name if isinstance(s, Indexed) else s.name
    inp = instance.model.spec.inputs.get(name)
    return inp is not None and (inp.distribution in ("log-uniform", "integers") or (inp.low or 0) > 0) \
        or (s.is_Symbol and s.is_positive)


def _evaluate(expr, values):
    expr = expr.xreplace(values)
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
