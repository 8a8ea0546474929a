"""The second, independent check: the same claim at explicit small sizes.

Sizes and index arrays get concrete values, every Sum expands into a finite sum, the
loss is differentiated entry by entry with ordinary scalar calculus, and derived minus
claimed must vanish as a rational function of the exponentials, for every admitted
value of the claim's free indices.  It shares no rewriting with the symbolic prover.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp
from sympy import Indexed

from .claim import Claim
from .models import ARRAYS, SIZES, b, c, i, j, k, m, o, t

# Small enough to expand, large enough to tell i from j, to repeat a sample (w) and to
# include the outside word among the samples of one window word (w_t).
EXPLICIT_SIZES = dict(zip(SIZES, (2, 4, 2, 2, 2)))
EXPLICIT_SCALARS = {c: 2, o: 0}
EXPLICIT_ARRAYS = {
    "w": (1, 1),
    "o_t": (0, 3),
    "w_t": ((1, 3), (2, 0)),
    "c_b": (2, 0),
    "o_b": (1, 1),
}
ENUMERATED = (i, j, k, m, t, b)


@dataclass(frozen=True)
class ExplicitCheck:
    holds: bool
    cases: int  # index assignments checked
    counterexample: str = ""


def _array_value(entry: Indexed):
    value = EXPLICIT_ARRAYS[entry.base.label.name]
    for index in entry.indices:
        value = value[int(index)]
    return sp.Integer(value)


def instantiate(expr, scalars):
    expr = sp.sympify(expr).xreplace({**EXPLICIT_SIZES, **EXPLICIT_SCALARS, **scalars})
    for _ in range(3):  # sums whose bounds or indices are array entries need two rounds
        expr = expr.doit()
        entries = [e for e in expr.atoms(Indexed) if e.base in ARRAYS and all(q.is_Integer for q in e.indices)]
        if not entries:
            break
        expr = expr.xreplace({e: _array_value(e) for e in entries})
    return expr


def vanishes(expr) -> bool:
    from .prover import rational_zero  # one rational-function test, shared with the prover's last step

    return rational_zero(expr)


def check_explicit(claim: Claim, ranges) -> ExplicitCheck:
    free = set().union(*(e.free_symbols for e in (claim.of, claim.closed) + ((claim.wrt,) if claim.wrt is not None else ())))
    names = [q for q in ENUMERATED if q in free]
    spans = [range(int(instantiate(ranges[q][0], {})), int(instantiate(ranges[q][1], {})) + 1) for q in names]
    checked = 0
    for values in itertools.product(*spans):
        scalars = dict(zip(names, values))
        env = {str(q): v for q, v in {**EXPLICIT_SCALARS, **scalars}.items()}
        env["w"] = EXPLICIT_ARRAYS["w"]
        if claim.case is not None and not claim.case.admits(env):
            continue
        of = instantiate(claim.of, scalars)
        if claim.wrt is None:
            derived = of
        else:
            wrt = instantiate(claim.wrt, scalars)
            derived = sp.diff(of, wrt)
            if claim.post is not None:
                derived = claim.post(derived, wrt)
        closed = instantiate(claim.closed, scalars)
        checked += 1
        if not vanishes(derived - closed):
            where = ", ".join(f"{q}={v}" for q, v in env.items() if q != "w")
            return ExplicitCheck(False, checked, where)
    return ExplicitCheck(checked > 0, checked, "" if checked else "no index value admitted")
