"""Prove that two index-level expressions are equal: their difference normalises to 0.

The normal form is built from a few rewrites that are each sound on their own:
Sums are pushed through + and factors that do not mention the summation index are
pulled out; a Sum over a KroneckerDelta is evaluated only when the delta's other index
is known to lie in the summation range; bound indices are renamed by binder height so
that alpha-equivalent terms become identical; finally sums with equal limits are merged
and each summand is tested for zero as a rational function.

SymPy's own ``Sum.doit`` is never used on general sums: on a softmax denominator it
returns a wrong closed form, and ``simplify`` can raise StopIteration on sums
(sympy issue 14570).  A failure to normalise to 0 is reported, never guessed.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp
from sympy import Add, And, Basic, Dummy, Indexed, IndexedBase, KroneckerDelta, Mul, Piecewise, Sum, Symbol, Tuple
from sympy.concrete.expr_with_limits import ExprWithLimits
from sympy.core.exprtools import gcd_terms
from sympy.core.relational import Relational

from .algebra import ExpFn

# An index (Symbol) or an integer-valued array (IndexedBase) with its inclusive range.
Ranges = Mapping[Basic, tuple[sp.Expr, sp.Expr]]


@dataclass(frozen=True)
class Proof:
    proved: bool
    residual: str  # the normal form of derived - claimed; "0" when proved


def prove_equal(derived: sp.Expr, claimed: sp.Expr, ranges: Ranges, restrict=None) -> Proof:
    """restrict: a rewrite for a case (i = j, i != j), applied to the normalised derivative."""
    if restrict is not None:
        derived = restrict(_normalize(derived, dict(ranges)))
    residual = zero_normal_form(derived - claimed, dict(ranges))
    return Proof(proved=residual == 0, residual=str(residual))


def zero_normal_form(expr: sp.Expr, ranges: dict) -> sp.Expr:
    expr = _normalize(expr, ranges)
    if expr == 0:
        return sp.S.Zero
    normal = expr
    expr = _merge_sums(expr, ranges)
    if expr == 0 or rational_zero(expr):
        return sp.S.Zero
    if _flat_zero(normal):
        return sp.S.Zero
    return expr


def _flatten(term):
    """c * sum_a f(a) * sum_b g(b) * h as (c h-part outside, [limits], body): one chain of sums
    over a product (finite sums multiply term by term)."""
    limits, body = [], []
    for factor in Mul.make_args(_nest(term)):
        if isinstance(factor, Sum) and len(factor.limits) == 1:
            (var, lo, hi), = factor.limits
            fresh = Dummy("f", integer=True)
            inner_limits, inner_body = _flatten(factor.function.xreplace({var: fresh}))
            limits += [(fresh, lo, hi)] + inner_limits
            body.append(inner_body)
        else:
            body.append(factor)
    return limits, Mul(*body)


def _flat_zero(expr) -> bool:
    """Terms whose sums are nested in different orders, or sit in different factors, cancel
    once each term is one chain of sums over a product in a canonical order: group the terms
    by their chain and test each group's summands as a rational function."""
    groups: dict = {}
    for term in Add.make_args(expr):
        limits, body = _flatten(term)
        if len(limits) > 5 or any((lo.free_symbols | hi.free_symbols) & {v for v, _, _ in limits}
                                  for _, lo, hi in limits):
            return False
        chain = body
        for limit in reversed(limits):
            chain = one_sum(chain, limit)
        chain, _ = canonical(chain)
        flat_limits, flat_body = [], chain
        while isinstance(flat_body, Sum):
            flat_limits.append(flat_body.limits[0])
            flat_body = flat_body.function
        groups.setdefault(tuple(flat_limits), []).append(flat_body)
    return all(rational_zero(_expand(Add(*bodies))) for bodies in groups.values())


# -- building blocks ---------------------------------------------------------------------


def one_sum(body, limit, cls=Sum):
    """A Sum with one binder. Sum() itself flattens Sum(Sum(f, a), b) into one node."""
    obj = Basic.__new__(cls, body, Tuple(*limit))
    obj.is_commutative = body.is_commutative
    return obj


def _expand(expr):
    # power_exp=False keeps exp(a + b) whole, so exp(s_w) stays one recognisable factor
    return sp.expand(expr, power_exp=False, power_base=False, log=False)


def _nest(expr):
    """Sum(f, l1, l2) -> Sum(Sum(f, l1), l2): one binder per node."""

    def split(node):
        if len(node.limits) == 1:
            return node
        body = node.function
        for limit in node.limits:
            body = one_sum(body, limit, node.func)
        return body

    return expr.replace(lambda e: isinstance(e, ExprWithLimits), split)


# -- index ranges ------------------------------------------------------------------------


def _range_symbols(expr, ranges):
    """Replace entries of integer arrays (w[k]) by symbols carrying the array's range."""
    extra, mapping = {}, {}
    for ind in expr.atoms(Indexed):
        if ind.base in ranges:
            sym = mapping.setdefault(ind, Dummy("r", integer=True))
            extra[sym] = ranges[ind.base]
    return expr.xreplace(mapping), {**ranges, **extra}


def _nonnegative(diff, ranges) -> bool:
    """Is diff >= 0 for every index value in range?  Only linear diffs are decided."""
    diff, ranges = _range_symbols(sp.expand(diff), ranges)
    for sym, (lo, hi) in ranges.items():
        if not isinstance(sym, Symbol) or not diff.has(sym):
            continue
        if not diff.is_polynomial(sym) or sp.degree(diff, sym) != 1:
            return False
        coefficient = diff.coeff(sym)
        if coefficient.is_positive:
            diff = sp.expand(diff.subs(sym, lo))
        elif coefficient.is_negative:
            diff = sp.expand(diff.subs(sym, hi))
        else:
            return False
    return diff.is_nonnegative is True


def in_range(value, lo, hi, ranges) -> bool:
    return _nonnegative(value - lo, ranges) and _nonnegative(hi - value, ranges)


def _implied(cond, ranges) -> bool:
    if cond is sp.true:
        return True
    if isinstance(cond, And):
        return all(_implied(c, ranges) for c in cond.args)
    if isinstance(cond, Relational) and cond.rel_op in ("<=", ">="):
        return _nonnegative(cond.gts - cond.lts, ranges)
    if isinstance(cond, Relational) and cond.rel_op in ("<", ">"):
        return _nonnegative(cond.gts - cond.lts - 1, ranges)
    return False


def strip_range_guards(expr, ranges):
    """Piecewise((x, lo <= k <= hi), ...) -> x, but only where the declared ranges imply the guard."""

    def choose(pw):
        expr0, cond0 = pw.args[0]
        return expr0 if _implied(cond0, ranges) else pw

    return expr.replace(lambda e: isinstance(e, Piecewise), choose)


# -- the normal form ---------------------------------------------------------------------


def _split(term, var):
    inner, outer = [], []
    for factor in Mul.make_args(term):
        (inner if var in factor.free_symbols else outer).append(factor)
    return Mul(*outer), Mul(*inner)


def _eval_delta(dep, var, lo, hi, ranges):
    """Sum_var delta(var, a) f(var) = f(a) when a lies in [lo, hi]; None if it cannot be shown."""
    for factor in Mul.make_args(dep):
        if not isinstance(factor, KroneckerDelta) or var not in factor.args:
            continue
        other = factor.args[1] if factor.args[0] == var else factor.args[0]
        if var in other.free_symbols or not in_range(other, lo, hi, ranges):
            continue
        return (dep / factor).xreplace({var: other})
    return None


def _use_delta(dep, var):
    """delta(x, y) f(x) = delta(x, y) f(y): move the bound entry x out of f, toward the free y."""
    for factor in Mul.make_args(dep):
        if not isinstance(factor, KroneckerDelta):
            continue
        a, b_ = factor.args
        if var in b_.free_symbols and var not in a.free_symbols:
            a, b_ = b_, a
        if var in a.free_symbols and var not in b_.free_symbols and not isinstance(a, Symbol):
            return factor * (dep / factor).xreplace({a: b_})
    return dep


def _swap_for_delta(dep, var, lo, hi):
    """Sum_var f(var) Sum_u delta(var, g(u)) h = Sum_u Sum_var delta(var, g(u)) f h, so the delta can act."""
    factors = Mul.make_args(dep)
    inner = [f for f in factors if isinstance(f, Sum) and len(f.limits) == 1 and any(
        isinstance(d, KroneckerDelta) and var in d.args for d in Mul.make_args(f.function))]
    if len(inner) != 1:
        return None
    (u, lo2, hi2), = inner[0].limits
    if var in lo2.free_symbols | hi2.free_symbols:
        return None
    fresh = Dummy("u", integer=True)  # the other factors may mention a symbol named like u
    rest = Mul(*[f for f in factors if f is not inner[0]])
    body = rest * inner[0].function.xreplace({u: fresh})
    return one_sum(one_sum(body, (var, lo, hi)), (fresh, lo2, hi2))


def _linearize(expr, ranges):
    if isinstance(expr, Sum) and len(expr.limits) > 1:
        return _linearize(_nest(expr), ranges)
    if isinstance(expr, Sum):
        (var, lo, hi), = expr.limits
        if lo == hi:  # a sum of one term (a product through a dimension of size 1)
            return _linearize(expr.function.xreplace({var: lo}), ranges)
        inner_ranges = {**ranges, var: (lo, hi)}
        body = _expand(strip_range_guards(_linearize(expr.function, inner_ranges), inner_ranges))
        terms = []
        for term in Add.make_args(body):
            const, dep = _split(term, var)
            if dep.has(KroneckerDelta):
                const2, dep = _split(_use_delta(dep, var), var)
                const *= const2
            if dep == 1:
                terms.append(const * (hi - lo + 1))
                continue
            swapped = _swap_for_delta(dep, var, lo, hi)
            if swapped is not None:
                terms.append(const * _linearize(swapped, ranges))
                continue
            evaluated = _eval_delta(dep, var, lo, hi, ranges)
            terms.append(const * (evaluated if evaluated is not None else one_sum(dep, (var, lo, hi))))
        return Add(*terms)
    if not expr.args or isinstance(expr, (Indexed, IndexedBase, Symbol)):
        return expr
    return expr.func(*[_linearize(a, ranges) for a in expr.args])


def canonical(expr):
    """Rename every bound index by the height of its binder; returns (expr, height).

    A binder's height exceeds that of every binder in its body, so no renaming can
    capture, and alpha-equivalent subterms get identical names wherever they occur.
    """
    if isinstance(expr, ExprWithLimits) and len(expr.limits) > 1:
        return canonical(_nest(expr))
    if isinstance(expr, Sum) and isinstance(expr.function, Sum):
        chained = _chain(expr)
        if chained is not None:
            return chained
    if isinstance(expr, ExprWithLimits):
        (var, lo, hi), = expr.limits
        body, height = canonical(expr.function)
        name = Symbol(f"_b{height}", integer=True)
        return one_sum(body.xreplace({var: name}), (name, lo, hi), expr.func), height + 1
    if not expr.args or isinstance(expr, (Indexed, IndexedBase, Symbol)):
        return expr, 0
    parts = [canonical(a) for a in expr.args]
    return expr.func(*[p for p, _ in parts]), max(h for _, h in parts)


def _chain(expr):
    """Directly nested sums whose limits do not depend on one another commute: of every order
    of their binders, keep the one that prints first, so that sum_i sum_j f and sum_j sum_i f
    become identical.  None when the chain is not of that kind (or too long to try)."""
    limits, body = [], expr
    while isinstance(body, Sum) and len(body.limits) == 1:
        limits.append(body.limits[0])
        body = body.function
    if len(limits) < 2 or len(limits) > 5:
        return None
    binders = {v for v, _, _ in limits}
    if any((lo.free_symbols | hi.free_symbols) & binders for _, lo, hi in limits):
        return None
    inner, height = canonical(body)
    best = None
    for order in itertools.permutations(limits):  # order[0] innermost
        names = [Symbol(f"_b{height + k}", integer=True) for k in range(len(order))]
        renamed = inner.xreplace({v: n for (v, _, _), n in zip(order, names)})
        for (v, lo, hi), n in zip(order, names):
            renamed = one_sum(renamed, (n, lo, hi))
        key = sp.sstr(renamed)
        if best is None or key < best[0]:
            best = (key, renamed)
    return best[1], height + len(limits)


def _expand_logs(expr):
    """log(a b) = log a + log b and log(exp(a)) = a: every model quantity is real and
    every argument of log is positive (a probability, or a sum of exponentials)."""
    if not expr.has(sp.log):
        return expr
    expr = sp.expand_log(expr, force=True)
    return expr.replace(lambda e: isinstance(e, sp.log) and isinstance(e.args[0], (sp.exp, ExpFn)),
                        lambda e: e.args[0].args[0])


def _normalize(expr, ranges):
    expr, previous = _expand_logs(_nest(expr)), None
    for _ in range(8):
        expr = strip_range_guards(expr, ranges)
        expr = _linearize(expr, ranges)
        expr, _ = canonical(expr)
        expr = _expand(expr)
        if expr == previous:
            break
        previous = expr
    return expr


def replace_once(expr, query, value):
    """expr.replace(query, value) for a callable query and value: the same bottom-up rebuild,
    each distinct subexpression rebuilt once.  SymPy's walk has no memo, and the differences a
    proof is asked about repeat their subexpressions (every entry of a softmax has its
    denominator), each repeat rebuilt and flattened again."""
    memo: dict = {}

    def walk(node):
        out = memo.get(node)
        if out is not None:
            return out
        rebuilt = node
        args = getattr(node, "args", None)
        if args is not None:
            if args:
                new = tuple(walk(a) for a in args)
                if args != new:
                    rebuilt = node.func(*new)
                    # as Basic.replace(simultaneous=True): a node rebuilt into one of its own
                    # arguments, which was itself replaced, is not replaced again
                    if any(rebuilt == a and a != b for a, b in zip(args, new)):
                        memo[node] = rebuilt
                        return rebuilt
            if query(rebuilt):
                replaced = value(rebuilt)
                if replaced is not None and replaced != rebuilt:
                    rebuilt = replaced
        memo[node] = rebuilt
        return rebuilt

    return walk(expr)


def together_once(expr):
    """sp.together(expr) (deep=False, fraction=True), each distinct subexpression combined once:
    its recursion has no memo, and a repeated denominator's sum went through gcd_terms again
    wherever it occurs."""
    memo: dict = {}

    def combined(e):
        out = memo.get(e)
        if out is None:
            if e.is_Atom or e.is_Function:
                out = e
            elif e.is_Add:
                out = gcd_terms([combined(a) for a in Add.make_args(e)], fraction=True)
            elif e.is_Pow:
                out = e.func(combined(e.base), e.exp)
            else:
                out = e.func(*[combined(a) for a in e.args])
            memo[e] = out
        return out

    return combined(sp.sympify(expr))


def rational_zero(expr) -> bool:
    """together + expanded numerator: decides identities such as 1 - 1/(1+z) = z/(1+z)."""
    expr = _expand_logs(expr)
    # Each exp(a) becomes a symbol z_a and exp(-a) becomes 1/z_a: an identity of rational
    # functions in independent symbols holds for every value of them, so this is sound.
    symbols = {}

    def as_symbol(e):
        content, arg = sp.expand(e.args[0]).primitive()  # exp(-2a) = z_a ** -2
        if arg.could_extract_minus_sign():
            content, arg = -content, -arg
        return symbols.setdefault(arg, Dummy("z", positive=True)) ** content

    expr = replace_once(expr, lambda e: isinstance(e, (sp.exp, ExpFn)), as_symbol)
    numerator, _ = sp.fraction(together_once(expr))
    return _expand(numerator) == 0


def _merge_sums(expr, ranges):
    """c1*Sum(f1, L) + c2*Sum(f2, L) -> Sum(c1 f1 + c2 f2, L), dropped when the summand is 0."""
    groups, rest = {}, []
    expr = _nest(expr)
    for term in Add.make_args(expr):
        sums = [f for f in Mul.make_args(term) if isinstance(f, Sum)]
        if len(sums) != 1:
            rest.append(term)
            continue
        (var, lo, hi), = sums[0].limits
        groups.setdefault((lo, hi), []).append((term / sums[0], sums[0].function, var))
    out = list(rest)
    for (lo, hi), parts in groups.items():
        # a constant moved inside may bind an index of the same canonical name: rename first
        fresh = Dummy("m", integer=True)
        body = _expand(Add(*[c * f.xreplace({var: fresh}) for c, f, var in parts]))
        body = _merge_sums(body, {**ranges, fresh: (lo, hi)})
        if body == 0 or rational_zero(body):
            continue
        out.append(canonical(one_sum(body, (fresh, lo, hi)))[0])
    return Add(*out)
