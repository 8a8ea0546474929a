"""Prove a model: every derived gradient, then every claim of its file.

A derived gradient (reverse mode, ``reverse.py``) is proved equal to index-level
differentiation of the objective with symbolic sizes (``prover.py``), then checked again at
the file's explicit sizes (``explicit.py``).  A claim is proved equal to the derived form
(or, for what reverse mode does not cover, such as the entries of a softmax Jacobian, to
index-level differentiation), and checked again at explicit sizes against differentiation
there.  Status: proved (both agree), refuted (a counterexample in numbers at explicit
sizes, or a right side of the wrong shape), unproved (the prover could not decide).
"""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import sympy as sp
from sympy import KroneckerDelta

from .algebra import el, index_form
from .build import is_matrix
from .explicit import Instance, run
from .model import Claim, Model, Target
from .prover import prove_equal
from .results import ClaimResult
from .reverse import Derivation, derive


@dataclass(frozen=True)
class Item:
    """One row of the results: a derived gradient or a claim of the file."""

    kind: str  # derived | claim
    name: str
    label: str | None
    statement: str
    objective: str | None = None  # derived: the objective and the input
    wrt: str | None = None
    claim: int | None = None  # claim: its position in the file


def latex_of(expr) -> str:
    from .printer import to_latex

    return to_latex(expr)


class Prover:
    """One model's proofs; caches what several items share (derivations, index forms)."""

    def __init__(self, model: Model):
        self.model = model
        self._derivations: dict = {}
        self._objectives: dict = {}

    @cached_property
    def instance(self) -> Instance:
        return Instance(self.model)

    def derivation(self, objective: str, cut=()) -> Derivation:
        key = (objective, tuple(cut))
        if key not in self._derivations:
            self._derivations[key] = derive(self.model, objective, cut=cut)
        return self._derivations[key]

    def items(self) -> list[Item]:
        m, out = self.model, []
        for objective in m.objectives():
            d = self.derivation(objective)
            wanted = [n for n in m.parameters() if n in d.gradients and not isinstance(d.gradients[n], sp.ZeroMatrix)]
            for f in m.spec.functions():
                if (f.objective or m.objective) == objective:
                    wanted += [n for n, _ in f.returns.gradients if n in d.gradients and n not in wanted]
            for wrt in wanted:
                name = f"d{objective}/d{wrt} (derived)"
                statement = rf"\frac{{\partial {objective}}}{{\partial {wrt}}} = {latex_of(d.gradients[wrt])}"
                out.append(Item("derived", name, None, statement, objective, wrt))
        for q, c in enumerate(m.claims):
            out.append(Item("claim", c.name, c.label, c.statement, claim=q))
        return out

    # -- index level -----------------------------------------------------------------------
    def index_entry(self, expr, a, b, keep=()):
        """The index-level entry (a, b) of an expression over the model's symbols."""
        if not is_matrix(expr):
            return index_form(self.model.inline(sp.sympify(expr), keep)) if hasattr(expr, "xreplace") else expr
        full = self.model.inline(expr, keep)
        return index_form(el(full, sp.sympify(a), sp.sympify(b)))

    def objective_index(self, expr, keep=()):
        key = (expr, tuple(keep))
        if key not in self._objectives:
            self._objectives[key] = self.index_entry(expr, 0, 0, keep)
        return self._objectives[key]

    # -- one item -----------------------------------------------------------------------------
    def prove(self, item: Item) -> ClaimResult:
        start = time.perf_counter()
        try:
            if item.kind == "derived":
                outcome = self._derived(item)
            else:
                outcome = self._claim(self.model.claims[item.claim])
        except Exception as e:  # a prover limitation is reported as such, never as a wrong claim
            outcome = dict(status="unproved", symbolic=False, explicit=False, cases=0, residual="",
                           detail=f"{type(e).__name__}: {e}")
        return ClaimResult(
            model=self.model.name, name=item.name, equation=item.label, statement=item.statement,
            status=outcome["status"], seconds=time.perf_counter() - start, symbolic=outcome["symbolic"],
            explicit=outcome["explicit"], explicit_cases=outcome["cases"], residual=outcome["residual"],
            detail=outcome["detail"], kind=item.kind)

    @cached_property
    def explicit(self):
        from .explicit import Explicit

        return Explicit(self.instance)

    def _derived(self, item: Item):
        m = self.model
        d = self.derivation(item.objective)
        target = Target(item.wrt, "input", m.inputs[item.wrt])
        gradient = m.inline(d.inline(d.gradients[item.wrt]))
        return self._compare(m.symbols[item.objective], (), target, gradient, (), {})

    def _claim(self, c: Claim):
        m = self.model
        if c.kind == "equal":
            lhs, rhs = c.lhs, c.rhs
            shape = lhs.shape if is_matrix(lhs) else (1, 1)
            if is_matrix(rhs) and rhs.shape != shape:
                return _shape_refutation(shape, rhs.shape)
            p, q = _fresh("p"), _fresh("q")
            free = {**_free(c), **({p: (0, shape[0] - 1)} if shape[0] != 1 else {}),
                    **({q: (0, shape[1] - 1)} if shape[1] != 1 else {})}
            a, b = (p if shape[0] != 1 else 0), (q if shape[1] != 1 else 0)
            derived = self.index_entry(lhs, a, b)
            claimed = self.index_entry(rhs, a, b) if is_matrix(rhs) else self.index_entry(rhs, 0, 0)
            explicit = self.explicit

            def pair(asg):
                left, right = explicit(m.inline(lhs), asg), explicit(m.inline(rhs) if is_matrix(rhs) else rhs, asg)
                return _at(left, a, b, asg), _at(right, a, b, asg)

            return self._finish(derived, claimed, c.where, free, pair)
        target = c.target
        keep = (target.name,) if target.kind == "definition" else ()
        if is_matrix(c.rhs) and c.rhs.shape != target.shape:
            return _shape_refutation(target.shape, c.rhs.shape)
        claimed = m.inline(c.rhs, keep) if is_matrix(c.rhs) else c.rhs
        if c.kind == "update":
            d = self.derivation(m.objective)
            gradient = d.inline(d.gradients[target.name]) if target.name in d.gradients else None
            return self._compare(m.symbols[m.objective], (), target, claimed, c.where, _free(c), update=c.rate,
                                 symbolic_derived=gradient)
        symbolic = None
        if c.objective is not None and target.kind in ("input", "definition"):
            d = self.derivation(c.objective, cut=keep)
            if target.kind == "input" and target.name in d.gradients:
                symbolic = d.inline(d.gradients[target.name])
            elif target.kind == "definition" and target.name in d.adjoints:
                symbolic = d.inline(d.adjoints[target.name])
        numerator = m.symbols[c.objective] if c.objective is not None else c.numerator
        return self._compare(numerator, keep, target, claimed, c.where, _free(c), symbolic_derived=symbolic)

    def _compare(self, numerator, keep, target: Target, claimed_matrix, where, free, update=None,
                 symbolic_derived=None):
        """The derivative of numerator by the target's entries against the claimed matrix:
        symbolically (the reverse-mode form when given, else index-level differentiation), then
        at explicit sizes (differentiation of the explicit numerator there)."""
        p, q = _fresh("p"), _fresh("q")
        rows, cols = target.symbol.shape if is_matrix(target.symbol) else (1, 1)
        a = target.row if target.row is not None else (p if rows != 1 else sp.Integer(0))
        b = target.col if target.col is not None else (q if cols != 1 else sp.Integer(0))
        free = dict(free)
        if target.row is None and rows != 1:
            free[p] = (sp.Integer(0), rows - 1)
        if target.col is None and cols != 1:
            free[q] = (sp.Integer(0), cols - 1)
        # the entry (ra, rb) of the claim's right side that matches the target's entry (a, b)
        if target.row is not None and target.col is not None:
            ra, rb = sp.Integer(0), sp.Integer(0)
        elif target.col is not None:
            ra, rb = a, sp.Integer(0)
        elif target.row is not None:
            ra, rb = b, sp.Integer(0)
        else:
            ra, rb = a, b
        wrt = _wrt_entry(target, a, b)
        if symbolic_derived is not None:  # the derived form from reverse mode, entry by entry
            symbolic = self.index_entry(symbolic_derived, a, b, keep)
        else:
            top = self.objective_index(numerator, keep) if is_matrix(numerator) else \
                self.index_entry(numerator, 0, 0, keep)
            symbolic = sp.diff(top, wrt)
        if update is not None:
            symbolic = wrt - update * symbolic
        claimed = self.index_entry(claimed_matrix, ra, rb, keep) if is_matrix(claimed_matrix) else \
            self.index_entry(claimed_matrix, 0, 0, keep)
        instance, explicit = self.instance, self.explicit
        numerator_value = self.model.inline(numerator, keep) if is_matrix(numerator) else numerator
        claimed_value = claimed_matrix

        def pair(assignment):
            top_value = _scalar(explicit(numerator_value, assignment))
            explicit_wrt = instance(wrt, assignment)
            d = sp.diff(top_value, explicit_wrt)
            if update is not None:
                d = explicit_wrt - update * d
            return d, _at(explicit(claimed_value, assignment), ra, rb, assignment)

        return self._finish(symbolic, claimed, where, free, pair)

    def _finish(self, derived, claimed, where, free, pair):
        ranges = {**self.model.ranges, **free}
        derived, claimed = _substitute_equalities(derived, claimed, where)
        restrict = _restriction(where)
        proof = prove_equal(derived, claimed, _prover_ranges(ranges), restrict)
        explicit = run(self.instance, free, pair, lambda asg: _admits(where, asg, self.instance))
        if proof.proved and explicit.holds:
            status = "proved"
        elif explicit.refuted:
            status = "refuted"
        else:
            status = "unproved"
        detail = ""
        if not explicit.holds:
            detail = f"at explicit sizes ({_sizes(self.model)}): {explicit.counterexample}"
        elif not proof.proved:
            detail = "holds at explicit sizes; the symbolic prover did not reduce the difference to 0"
        return dict(status=status, symbolic=proof.proved, explicit=explicit.holds, cases=explicit.cases,
                    residual=proof.residual, detail=detail)


# -- helpers -------------------------------------------------------------------------------------


def _scalar(value):
    return value[0, 0] if isinstance(value, sp.MatrixBase) else value


def _at(value, a, b, assignment):
    """Entry (a, b) of an explicit value, a and b given by the assignment where symbolic."""
    if not isinstance(value, sp.MatrixBase):
        return value
    a, b = (int(sp.sympify(x).xreplace(assignment)) for x in (a, b))
    return value[a, b]


def _fresh(name):
    return sp.Symbol(f"{name}_", integer=True, nonnegative=True)


def _free(c: Claim) -> dict:
    """The claim's free indices (letters found while reading it) with their ranges."""
    return dict(c.free)


def _wrt_entry(target: Target, a, b):
    from .algebra import matrix_entry

    if target.kind == "variable":
        return target.symbol
    return matrix_entry(target.symbol.name, target.symbol.shape, a, b)


def _shape_refutation(want, got):
    return dict(status="refuted", symbolic=False, explicit=False, cases=0, residual="",
                detail=f"the right side is {_shape(got)}, but the left side is {_shape(want)}")


def _shape(s) -> str:
    return f"{sp.sstr(s[0])} x {sp.sstr(s[1])}"


def _sizes(model) -> str:
    return ", ".join(f"{k} = {v}" for k, v in model.spec.sizes.items())


def _prover_ranges(ranges):
    return {k: (sp.sympify(lo), sp.sympify(hi)) for k, (lo, hi) in ranges.items()}


def _substitute_equalities(derived, claimed, where):
    mapping = {a: b for op, a, b in where if op == "=" and isinstance(a, sp.Symbol)}
    if not mapping:
        return derived, claimed
    return derived.xreplace(mapping), claimed.xreplace(mapping)


def _restriction(where):
    rules = [(op, a, b) for op, a, b in where if op in ("!=", "notin")]
    if not rules:
        return None

    def restrict(expr):
        def is_excluded(d):
            if not isinstance(d, KroneckerDelta):
                return False
            for op, a, b in rules:
                if op == "!=" and set(d.args) == {a, b}:
                    return True
                if op == "notin" and a in d.args and any(isinstance(x, sp.Indexed) and x.base == b for x in d.args):
                    return True
            return False

        return expr.replace(is_excluded, lambda d: sp.S.Zero)

    return restrict


def _admits(where, assignment, instance) -> bool:
    values = {**{s: int(v) for s, v in instance.scalars.items()}, **{s: int(v) for s, v in assignment.items()}}
    for op, a, b in where:
        va = _value(a, values, instance)
        if op == "notin":
            if va in set(_flat_values(instance.arrays[b.label.name])):
                return False
            continue
        vb = _value(b, values, instance)
        if op == "!=" and va == vb or op == "=" and va != vb:
            return False
    return True


def _value(x, values, instance):
    if isinstance(x, sp.Indexed):
        v = instance.arrays[x.base.label.name]
        for q in x.indices:
            v = v[_value(q, values, instance)]
        return v
    if isinstance(x, sp.Integer):
        return int(x)
    return values.get(x)


def _flat_values(a):
    if isinstance(a, tuple):
        for v in a:
            yield from _flat_values(v)
    else:
        yield a


# -- running ---------------------------------------------------------------------------------------

_WORK: dict = {}  # key -> Prover, built before the workers fork so that they inherit it


def _prove_at(address) -> ClaimResult:
    key, q = address
    prover = _WORK[key]
    return prover.prove(prover.items()[q])


def prove_model_items(models: Iterable[Model], jobs: int = 2, progress=None) -> tuple[ClaimResult, ...]:
    """Results in each model's order: derived gradients, then the file's claims.  progress, if
    given, is called as progress(done, total, what) after each proof."""
    models = list(models)
    addresses = []
    for model in models:
        key = (model.name, model.digest)
        prover = _WORK.setdefault(key, Prover(model))
        prover.instance  # noqa: B018 - computed once, before forking
        addresses += [(key, q) for q in range(len(prover.items()))]
    tell = progress or (lambda done, total, what: None)
    tell(0, len(addresses), "")
    results = []
    if jobs <= 1 or len(addresses) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for a in addresses:
            results.append(_prove_at(a))
            tell(len(results), len(addresses), f"{results[-1].model}: {results[-1].name}")
        return tuple(results)
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for r in pool.imap(_prove_at, addresses, chunksize=1):  # in order, as map, but one at a time
            results.append(r)
            tell(len(results), len(addresses), f"{r.model}: {r.name}")
    return tuple(results)


def prove_models(names: Iterable[str], jobs: int = 2) -> tuple[ClaimResult, ...]:
    from .model import load

    return prove_model_items([load(n) for n in names], jobs)


def prove_claim(model: Model, claim: Claim) -> ClaimResult:
    """One claim (for tests and tools: a claim built outside the file)."""
    prover = _WORK.setdefault((model.name, model.digest), Prover(model))
    models = list(model.claims)
    q = next((k for k, c in enumerate(models) if c is claim), None)
    if q is None:
        from dataclasses import replace

        patched = replace(model, claims=model.claims + (claim,))
        prover = Prover(patched)
        q = len(patched.claims) - 1
    return prover.prove(Item("claim", claim.name, claim.label, claim.statement, claim=q))
