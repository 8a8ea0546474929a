"""Check each step of a derivation: both sides at random instantiations, every value of the
free indices, and a counterexample when they differ.

A step that does not hold as written may hold in another reading authors use: the numerator
layout (derivatives transposed), as its transpose, element by element (a diagonal Jacobian
written as a vector, u v read as u * v), a component for a vector (dJ/d theta = yhat_o - y_o
is entry o), a column of a matrix for one vector (dJ/du_w = v_c (yhat - y)^T).  Such a step
"holds (as ...)", with the reading.  Nothing else is forgiven: a step is "fails" only when no
reading makes it hold, and "cannot check" whenever something it uses has no value.

In a chain a = b = c, each expression is also compared with the chain's subject a, so the
report can say where the derivation went wrong and where it recovered.
"""
from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass, field, replace

import numpy as np
import sympy as sp
from lark import Token, Tree
from sympy.matrices.exceptions import ShapeError as SympyShapeError

from gradproof.derive import macros as user_macros
from gradproof.derive.latex import ParseError, parse

from .parsing import macros_key, parse_tree
from .context import Array, Context, Definition
from .document import Display, Step
from .evaluate import CannotCheck, Env, Evaluator, Model, ShapeError, _binder, _is_matrix, _letters, _shown
from .messages import unparsed_reason
from .numeric import Deferred, NoValue, Point, exact
from .operations import operations

MAX_ASSIGNMENTS = 12  # index values per instantiation; more are sampled
READINGS = (  # (name shown, layout, elementwise, comparison)
    ("", "denominator", False, "equal"),
    ("in the numerator layout", "numerator", False, "equal"),
    ("as its transpose", "denominator", False, "transpose"),
    ("as its transpose, in the numerator layout", "numerator", False, "transpose"),
    ("element-wise", "denominator", True, "equal"),
    ("element-wise (the diagonal of the Jacobian)", "denominator", True, "diagonal"),
    ("as a component of the vector", "denominator", False, "component"),
    ("as a column of the matrix", "denominator", False, "column"),
)


@dataclass(frozen=True)
class StepResult:
    lhs: str
    rhs: str
    status: str  # holds, fails, cannot_check, unparsed, defines
    reason: str = ""
    counterexample: str = ""
    trials: int = 0
    correct: str = ""  # for a failing step: the right-hand side the toolkit's derivation gives
    reading: str = ""  # "in the numerator layout", "as its transpose", ...
    line: int = 0
    column: int = 0
    where: str = ""
    subject: str = ""  # the chain's subject this step's right side was compared with
    against_subject: str = ""  # agrees, differs, or "" when not compared
    chain: str = ""  # where the chain went wrong or recovered, said at the step where it happened


@dataclass(frozen=True)
class EquationResult:
    label: str | None
    line: int
    status: str
    steps: tuple[StepResult, ...]
    inline: bool = False
    where: str = ""


# -- indices -------------------------------------------------------------------------------------

def free_indices(tree, ctx: Context, bound: frozenset[str] = frozenset()) -> list[str]:
    """Index letters used as subscripts outside every sum that binds them, in order."""
    out: list[str] = []
    if isinstance(tree, Token) or tree is None:
        return out
    if tree.data == "bigop":
        rest = tree.children[1:]
        sub = rest[0] if len(rest) >= 2 else None
        letter, start, exclude = _binder(sub)
        if exclude is not None and isinstance(exclude, str) and exclude not in bound and exclude not in ctx.particular:
            out.append(exclude)
        return out + [x for x in free_indices(rest[-1], ctx, bound | {letter}) if x not in out]
    if tree.data in ("symbol", "delta", "component"):
        groups = [c for c in tree.children[1:] if isinstance(c, Tree)] if tree.data in ("symbol", "component") \
            else tree.children
        if tree.data == "component":
            out += [x for x in free_indices(tree.children[0], ctx, bound) if x not in out]
        for g in groups:
            for letter in _letters(g):
                for x in (letter[1] if isinstance(letter, tuple) else (letter,)):
                    if isinstance(x, str) and x != "?" and x not in bound and x not in ctx.particular and x not in out:
                        out.append(x)
            if isinstance(g, Tree) and g.data == "not_equal":
                for x in _letters(g.children[1]):
                    if isinstance(x, str) and x not in bound and x not in ctx.particular and x not in out:
                        out.append(x)
        return out
    if tree.data == "delta2":
        return [t.value for t in tree.children if t.value not in bound and t.value not in ctx.particular]
    if tree.data in ("condition", "condition_not_equal", "case_equal", "case_not_equal"):
        for child in tree.children:
            if isinstance(child, Tree) and child.data == "symbol" and len(child.children) == 1:
                x = child.children[0].value
                if len(x) == 1 and x.islower() and x not in bound and x not in ctx.particular and x not in out \
                        and x not in ctx.arrays and x not in ctx.scalars and not ctx.definitions.get(x):
                    out.append(x)
            else:
                out += [x for x in free_indices(child, ctx, bound) if x not in out]
        return out
    for child in tree.children:
        for letter in free_indices(child, ctx, bound):
            if letter not in out:
                out.append(letter)
    return out


def subscript_conditions(tree) -> list[tuple[str, str, str]]:
    """u_{w \\neq o} and u_{w=o}: the case written in a subscript."""
    out = []
    if not isinstance(tree, Tree):
        return out
    for node in tree.iter_subtrees():
        if node.data == "symbol":
            for g in (c for c in node.children[1:] if isinstance(c, Tree)):
                if g.data == "not_equal":
                    a, b = _letters(g.children[0]), _letters(g.children[1])
                    if len(a) == 1 and len(b) == 1 and isinstance(a[0], str) and isinstance(b[0], str):
                        out.append((a[0], "!=", b[0]))
                elif g.data == "from_value":
                    b = _letters(g.children[1])
                    if len(b) == 1 and isinstance(b[0], str):
                        out.append((g.children[0].value, "=", b[0]))
    return out


def _admits(conditions, values: dict[str, int]) -> bool:
    for a, relation, b in conditions or ():
        a, b = _letter_name(a), _letter_name(b)
        if a not in values or b not in values:
            continue
        if (values[a] == values[b]) != (relation == "="):
            return False
    return True


def _letter_name(text: str) -> str:
    """j^* -> jstar, j' -> jprime: the words the tokenizer made of them."""
    return text.replace("^*", "star").replace("'", "prime")


# -- instantiation -------------------------------------------------------------------------------

@dataclass
class _Trial:
    model: Model
    evaluator: Evaluator
    numbers: dict
    where: str
    values: dict[str, int]


def _draw(ctx: Context, rng, trial: int, sides_symbols=None) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Values for the particular indices (different from each other when they share a range)
    and for the index arrays (samples, different from each other and from those)."""
    values: dict[str, int] = {}
    samples_size = ctx.samples()
    for letter, size_name in sorted(ctx.particular.items()):
        n = ctx.size(size_name) if size_name else None
        if not n:
            n = max([v for v in ctx.sizes.values() if v] or [3])
        taken = {v for k, v in values.items() if ctx.particular.get(k) == size_name}
        low = samples_size if samples_size and samples_size + 2 <= n and not letter.startswith("#") else 0
        bound = ctx.size(ctx.letter_bounds[letter]) if letter in ctx.letter_bounds else None
        if bound:  # u_k with k the sums' k = 1..K: one of the K, not a word beside them as c and o are
            n, low = min(n, bound), 0
        choices = [v for v in range(low, n) if v not in taken] or [v for v in range(n) if v not in taken] or list(range(n))
        values[letter] = int(rng.choice(choices))
    samples: dict[str, list[int]] = {}
    for name, spec in ctx.index_arrays.items():
        length = ctx.size(spec.length) if spec.length else (samples_size or 2)
        n = ctx.size(spec.values) if spec.values else max([v for v in ctx.sizes.values() if v] or [3])
        length = length or 2
        avoid = set(values.values())
        pool = [v for v in range(n) if v not in avoid] if ctx.distinct_samples else list(range(n))
        if len(pool) < length:
            pool = list(range(n))
        drawn = [int(v) for v in rng.choice(pool, size=length, replace=len(pool) < length or
                                            not ctx.distinct_samples)]
        fixed = [values[k] for k in sorted(values) if not k.startswith("#")]
        if not ctx.distinct_samples and trial >= 1 and fixed and length > 1:
            # with replacement: instantiations where a sample repeats and where a sample is a fixed
            # index (c, then o), so that the terms only such draws switch on are checked
            drawn[0] = drawn[1]
            drawn[-1] = fixed[(trial - 1) % len(fixed)]
        samples[name] = drawn
    return values, samples


class _Numbers(dict):
    """Random values for the variables' entries, and for the coefficients of arbitrary functions
    as they appear (each drawn once, from its own seed)."""

    def __init__(self, values, seed: int, positive: bool):
        super().__init__(values)
        self.seed, self.positive = seed, positive
        self.converted: dict[int, tuple] = {}  # id(value) -> (value, its numbers): readings share values
        self.point = Point(self)  # every value at these numbers, each subexpression computed once

    def __missing__(self, key):
        # zlib's CRC of the name, not hash(): str hashes differ from one process to the next, and
        # a report must be the same in every run
        rng = np.random.default_rng(zlib.crc32(str(key).encode()) + self.seed)
        value = float(rng.uniform(0.1, 0.9)) if self.positive else float(rng.normal() * 0.5)
        self[key] = value
        return value


def _numbers(model: Model, rng, trial: int) -> dict:
    """Random values for every variable's entries: mixed signs, and on every other trial positive
    only (so that logarithms of the variables have a value)."""
    symbols = set()
    for value in model.primitives.values():
        symbols |= value.free_symbols if hasattr(value, "free_symbols") else set()
    ordered = sorted(symbols, key=str)
    if trial % 2 == 0:
        return _Numbers({x: float(rng.normal()) for x in ordered}, trial, False)
    return _Numbers({x: float(rng.uniform(0.1, 0.9)) for x in ordered}, trial, True)


# -- evaluation with readings --------------------------------------------------------------------

def _zero_of_shape(tree, value, other):
    """A side written as the number 0 beside an array: the zero array of that shape (dJ/dv_w = 0)."""
    if isinstance(tree, Tree) and tree.data == "number" and tree.children[0].value == "0" and _is_matrix(other) \
            and not _is_matrix(value):
        return sp.zeros(*other.shape)
    return value


def _evaluate(evaluator: Evaluator, tree, env: Env, numbers=None):
    """(value, problem, primitives used): problem is (status, reason) when there is no value."""
    evaluator.model.touched = set()
    try:
        value = evaluator.value(tree, env)
        touched, owners = set(evaluator.model.touched), evaluator.model.owners(value)
        if evaluator.model.deferred and not owners <= touched and _has_deferred(value) and \
                not _uses_all(evaluator.model, value, owners - touched, numbers):
            # a deferred derivative's symbols are its expression's, a superset of the derivative's
            # (d(Wx + b)/dW has no b): the exact derivative says which variables the value uses
            owners = evaluator.model.owners(exact(value))
        return value, None, touched | owners
    except CannotCheck as e:
        return None, ("cannot_check", str(e)), set(evaluator.model.touched)
    except (ShapeError, SympyShapeError) as e:
        return None, ("ill-formed", str(e)), set(evaluator.model.touched)
    except ParseError as e:
        return None, ("cannot_check", f"a definition it uses does not parse: {e}"), set()
    except RecursionError:
        return None, ("cannot_check", "a definition refers to itself"), set()
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as e:
        return None, ("cannot_check", f"no value here ({type(e).__name__})"), set(evaluator.model.touched)


def _has_deferred(value) -> bool:
    """A deferred derivative in value (else its symbols are its exact form's already)."""
    return any(isinstance(e, sp.Basic) and e.has(Deferred) for e in (list(value) if _is_matrix(value) else [value]))


def _uses_all(model: Model, value, names: set, numbers) -> bool:
    """Whether value, as a function, changes with each named variable's entries (then any
    expression of it, the exact one too, has their symbols): its number at numbers and with the
    variable's entries moved, each a relative 1e-6 apart or more (rounding is 1e-15).  False means
    only "not shown"."""
    if not isinstance(numbers, _Numbers):
        return False
    entries = list(value) if _is_matrix(value) else [value]
    try:
        here = [complex(numbers.point.value(e)) for e in entries]
        for name in names:
            moved = _Numbers(dict(numbers), numbers.seed, numbers.positive)
            for x in getattr(model.primitives.get(name), "free_symbols", ()):
                moved[x] = numbers[x] + 0.37  # positive stays positive (logarithms keep their value)
            there = [complex(moved.point.value(e)) for e in entries]
            if not any(abs(a - b) > 1e-6 * (1 + abs(a)) for a, b in zip(here, there)):
                return False
    except NoValue:
        return False
    return True


def _to_numbers(value, numbers) -> np.ndarray | None:
    if isinstance(numbers, _Numbers):
        hit = numbers.converted.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        out = _numbers_of(value, numbers)
        numbers.converted[id(value)] = (value, out)  # the value is kept, so its id is never reused
        return out
    return _numbers_of(value, numbers)


def _numbers_of(value, numbers) -> np.ndarray | None:
    if isinstance(numbers, _Numbers):
        try:
            out = np.array([numbers.point.value(x) for x in value], dtype=complex).reshape(value.shape) \
                if _is_matrix(value) else np.array(numbers.point.value(value), dtype=complex)
            return _real_part(out)
        except NoValue:
            pass  # overflow or a pole in double precision: the exact substitution decides
    return _exact_numbers_of(value, numbers)


def _exact_numbers_of(value, numbers) -> np.ndarray | None:
    if isinstance(numbers, _Numbers) and hasattr(value, "free_symbols"):
        for x in value.free_symbols:  # arbitrary functions' coefficients get values as they appear
            numbers[x]
    try:
        if _is_matrix(value):
            out = np.array(value.xreplace(numbers).evalf(), dtype=complex)
        else:
            out = np.array(complex(sp.sympify(sp.sympify(value).xreplace(numbers)).evalf()))
    except (TypeError, ValueError, AttributeError):
        return None
    return _real_part(out)


def _real_part(out: np.ndarray) -> np.ndarray | None:
    """The real values, or None when some value is not finite or not real."""
    if not np.all(np.isfinite(out)) or np.any(np.abs(out.imag) > 1e-9 * (1 + np.abs(out.real))):
        return None
    return out.real


def _compare(a, b, comparison: str, numbers) -> tuple[str, str] | None:
    """None when a and b agree under the comparison, else (kind, message); kind is "shape" or
    "value"."""
    if comparison == "transpose":
        if not _is_matrix(a) or not _is_matrix(b) or a.shape != (b.shape[1], b.shape[0]) or a.shape == b.shape:
            return "shape", ""
        b = b.T
    elif comparison == "diagonal":
        jac, vec = (a, b) if _is_matrix(a) and _is_matrix(b) and a.shape[0] == a.shape[1] and 1 in b.shape else (b, a)
        if not (_is_matrix(jac) and _is_matrix(vec) and jac.shape[0] == jac.shape[1] and 1 in vec.shape
                and max(vec.shape) == jac.shape[0] and jac.shape[0] > 1):
            return "shape", ""
        x = _to_numbers(jac, numbers)
        if x is None:
            return "value", "no real value"
        if not np.allclose(x - np.diag(np.diag(x)), 0, atol=1e-10):
            return "value", "the Jacobian is not diagonal"
        a, b = sp.Matrix(list(jac.diagonal())), sp.Matrix(list(vec))
    if _is_matrix(a) != _is_matrix(b) or (_is_matrix(a) and a.shape != b.shape):
        if _is_matrix(a) and _is_matrix(b) and 1 in a.shape and 1 in b.shape and len(a) == len(b) \
                and comparison == "equal" and False:
            pass
        return "shape", f"{_shape(a)} and {_shape(b)}"
    x, y = _to_numbers(a, numbers), _to_numbers(b, numbers)
    if x is None or y is None:
        return "value", "no real value"
    if np.allclose(x, y, rtol=1e-8, atol=1e-10):
        return None
    return "value", f"left {_show(x)}, right {_show(y)}"


def _show(x: np.ndarray) -> str:
    return np.array2string(x.reshape(-1) if x.ndim == 2 and 1 in x.shape else x, precision=4, max_line_width=80) \
        if x.ndim else f"{float(x):.6g}"


def _shape(x) -> str:
    return f"{x.shape[0]}x{x.shape[1]}" if _is_matrix(x) else "scalar"


@dataclass
class _Outcome:
    status: str
    reason: str = ""
    counterexample: str = ""
    reading: str = ""
    checked: int = 0
    proved: bool = False
    side: str = ""  # ill-formed: "left" when only the left side is


@dataclass(frozen=True)
class LossFallback:
    """The loss of a shipped notation, for steps that differentiate a loss the document defines as
    another quantity (J is the softmax loss, and the negative-sampling section writes dJ/du_k)."""
    name: str
    latex: str
    notation: str
    why: str
    tags: tuple[str, ...] = ()  # J_{neg-sample}: a tag with one of these words names this loss too
    tagged: tuple[str, ...] = ()  # the tagged names of the document that do (Jtagnegsample)
    indices: tuple[str, ...] = ()  # the notation's fixed indices (c, o): fixed here too where the document leaves them free
    tagged_only: bool = False  # only its tagged names (J_{naive-softmax}) mean it, never the plain J

    def names(self, name: str) -> bool:
        return (name == self.name and not self.tagged_only) or name in self.tagged


class Checker:
    """Checks pairs of expressions of one document under its context.  The instantiations (one
    model per trial) are shared by every step, so a definition is expanded once, and each side's
    value is computed once per trial, index values and reading."""

    # Budgets are counted in work, not seconds, so that a report is the same on every machine.
    EVALUATION_WEIGHT = 6000  # nodes of both sides' values past which each instantiation keeps to ...
    FEWEST = 6  # ... its first index values (the coincidences i = j come first)
    PROOF_BUDGET = 8000  # operations of symbolic proof per step; past it, a step that agrees "holds numerically"
    DOCUMENT_PROOF_BUDGET = 40000  # ... and per document
    DOCUMENT_PROOFS = 80  # proofs per document (one per index value of a step): some small ones are slow
    DEFER = True  # derivatives of the later instantiations by forward mode (numeric.Deferred); tests turn it off

    def __init__(self, ctx: Context, trials: int = 3, seed: int = 0, proof_budget: int | None = None,
                 subderivatives: dict | None = None):
        self.ctx, self.trials, self.seed = ctx, trials, seed
        if proof_budget is not None:
            self.DOCUMENT_PROOF_BUDGET = proof_budget
            self.PROOF_BUDGET = max(self.PROOF_BUDGET, proof_budget // 10)
            self.DOCUMENT_PROOFS = max(self.DOCUMENT_PROOFS, proof_budget // 100)
        self.names = ctx.token_names()
        rng = np.random.default_rng(seed)
        self.draws = [_draw(ctx, rng, t) for t in range(trials)]
        self._models: dict[int, tuple] = {}
        self._values: dict[tuple, tuple] = {}
        self._rewritten: dict[tuple, object] = {}
        self._keep: list = []  # trees whose ids key the caches stay alive
        self._sizes: dict[tuple, dict] = {}
        self._derivatives: dict = {}  # shared by this checker's models: derivatives do not depend on the trial
        # ... and those of their subexpressions, which are functions of the expressions alone: the
        # checkers a checker makes for another reading of the document (a shipped loss) share them
        self._subderivatives: dict = {} if subderivatives is None else subderivatives
        self._proofs: dict = {}  # (a, b) -> _identical(a, b): the readings and chains of a step prove the same again
        self._operations: dict = {}  # expression -> its operations (operations.py): the differences share terms
        self._weights: dict = {}  # value -> _weight(value): the readings of a step often give the same values
        self.proof_work = 0
        self.proofs = 0
        self.loss: LossFallback | None = None  # a shipped loss for a J the document defines otherwise
        self.losses: tuple[LossFallback, ...] = ()  # every shipped loss detected (the plain J's and tagged ones)
        self._loss_checkers: dict[str, Checker | None] = {}
        # a function the document never defines, identified by the first step that uses it:
        # name -> (the one known function with which that step holds, its line), or None
        self.identified: dict[str, tuple[str, str] | None] = {}
        self.identifying = False
        self._variants: list[Checker] = []  # checkers of other readings of the document (variant())

    def variant(self, ctx: Context, seed: int = 0) -> "Checker":
        """A checker of another reading of the document (ctx: a name read ahead of its definition,
        a letter read as any vector), made once: the steps that try the same reading share its
        instantiations and values.  Its proof budgets start afresh at every use, as a new checker's
        would, so that it decides what a new one would."""
        for kept in self._variants:
            if kept.seed == seed and kept.ctx == ctx:
                break
        else:
            kept = Checker(ctx, self.trials, seed)
            self._variants.append(kept)
        kept.proof_work = kept.proofs = 0
        return kept

    def loss_named(self, name: str) -> LossFallback | None:
        """The shipped loss a name of the document stands for (J_{naive-softmax}, or the plain J)."""
        for loss in self.losses:
            if name in loss.tagged:
                return loss
        return self.loss if self.loss is not None and self.loss.names(name) else None

    def for_loss(self, loss: LossFallback | None = None) -> "Checker | None":
        """A checker in which the fallback loss is what the loss's name means."""
        loss = loss or self.loss
        if loss is None:
            return None
        if loss.notation not in self._loss_checkers:
            self._loss_checkers[loss.notation] = self._loss_checker_for(loss)
        return self._loss_checkers[loss.notation]

    def _loss_checker_for(self, loss: LossFallback) -> "Checker | None":
        ctx = self.ctx
        name = loss.name
        needs_samples = re.search(r"\\sum_\{?k", loss.latex) is not None
        if (needs_samples and "K" not in ctx.sizes) or not all(x in ctx.families for x in ("u", "v")):
            return None
        definitions = {k: v for k, v in ctx.definitions.items() if k != name and not k.startswith(name + "tag")}
        if not loss.tagged_only:
            definitions[name] = [Definition(name, loss.latex, origin="shipped")]
        else:  # the plain J keeps the document's meaning; only the tagged names are the shipped loss
            definitions.update({k: v for k, v in ctx.definitions.items() if k == name or
                                (k.startswith(name + "tag") and k not in loss.tagged)})
        for tagged in loss.tagged:
            definitions[tagged] = [Definition(tagged, loss.latex, origin="shipped")]
        inner = self._inner_loss(loss)
        if inner is not None:  # J_{skip-gram} = \sum_j J(v_c, w_{t+j}, U): J where the document has none yet
            definitions[name] = [Definition(name, inner.latex, origin="shipped")] + list(definitions.get(name, ()))
        particular = dict(ctx.particular)
        family = ctx.families["u"]
        matrix = ctx.arrays.get(family.matrix)
        count = (matrix.cols if family.axis == "column" else matrix.rows) if matrix is not None else ""
        for letter in loss.indices:
            if letter not in particular and letter not in ctx.sizes:
                particular[letter] = count  # c, o: one word each, as the loss's notation says
        dependent = ctx.dependent - set(loss.tagged)  # \partial J_{skip-gram}: defined here, by the notation
        return Checker(replace(ctx, definitions=definitions, particular=particular, dependent=dependent), self.trials,
                       self.seed, subderivatives=self._subderivatives)

    def _inner_loss(self, loss: LossFallback) -> LossFallback | None:
        """The loss a tagged loss written with the plain J (J_{skip-gram} = \\sum_j J(v_c, w_{t+j}, U))
        reads that J as, before the document defines J itself: the loss the plain J falls back to."""
        if not (loss.tagged_only and re.search(rf"(?<![A-Za-z\\]){loss.name}\s*\(", loss.latex)):
            return None
        inner = self.loss
        if inner is None or inner.name != loss.name or inner.notation == loss.notation:
            return None
        return inner

    def parse(self, text: str):
        return parse_tree(text, self.names, macros_key(self.ctx.macros))

    def rewrite(self, tree, outside: frozenset, free: frozenset | None):
        """tree with its implied sums written (memoized, so equal inputs give the same object)."""
        from .implicit import bind_sums, einstein, expand_elisions, extend_sums

        key = (id(tree), outside, free)
        if key not in self._rewritten:
            out = bind_sums(extend_sums(expand_elisions(tree), outside | frozenset(self.ctx.particular)), outside)
            if free is not None:
                out = einstein(out, free)
            self._rewritten[key] = out
            self._keep.append(tree)
        return self._rewritten[key]

    NUMBERS_ONLY = -1  # instantiation 0 again, for values whose expressions nothing reads (see _reading)

    def model(self, t: int):
        if t == self.NUMBERS_ONLY and t not in self._models:
            # the same index values and numbers as instantiation 0, its own expressions (Deferred
            # derivatives in them never reach a value of instantiation 0 that a proof or a size reads)
            values, samples = self.draws[0]
            numbers = self.model(0)[2]
            model = Model(self.ctx, values, samples, derivatives=self._derivatives,
                          subderivatives=self._subderivatives, deferred=self.DEFER)
            # what instantiation 0 has computed already is read there (exact values: their numbers are
            # this copy's numbers), so that it computes only what 0 has not (other layouts' derivatives)
            self._models[t] = (model, Evaluator(model, shared=self.model(0)[1]), numbers, values, samples)
        if t not in self._models:
            values, samples = self.draws[t]
            # proofs and sizes read the first instantiation's expressions; the others give numbers
            model = Model(self.ctx, values, samples, derivatives=self._derivatives,
                          subderivatives=self._subderivatives, deferred=self.DEFER and t > 0)
            numbers = _numbers(model, np.random.default_rng(self.seed + 7919 * (t + 1)), t)
            self._models[t] = (model, Evaluator(model), numbers, values, samples)
        return self._models[t]

    def value(self, tree, t: int, assignment: dict, position: int, layout: str = "denominator",
              elementwise: bool = False):
        key = (id(tree), t, tuple(sorted(assignment.items())), position, layout, elementwise)
        if key not in self._values:
            model, evaluator, numbers, values, samples = self.model(t)
            from .implicit import subscript_letters

            # at the position's epoch: the same meanings, and the steps of one epoch share expansions
            env = Env({**values, **assignment}, position=self.ctx.epoch(position), layout=layout,
                      elementwise=elementwise, written=frozenset(subscript_letters(tree)))
            self._values[key] = _evaluate(evaluator, tree, env, numbers)
        return self._values[key]

    def compare(self, left, right, conditions, position: int, subject=None) -> _Outcome:
        ctx = self.ctx
        from .implicit import free_letters, subscript_letters

        free = None
        if ctx.einstein:
            free = frozenset(subscript_letters(subject if subject is not None else left)) | frozenset(ctx.particular)
        left, right = (self.rewrite(left, frozenset(free_letters(right)), free),
                       self.rewrite(right, frozenset(free_letters(left)), free))
        letters = list(dict.fromkeys(free_indices(left, ctx) + free_indices(right, ctx)))
        conditions = list(conditions or ()) + subscript_conditions(left) + subscript_conditions(right)
        try:
            trials = [(t, self.model(t)) for t in range(self.trials)]
        except CannotCheck as e:
            return _Outcome("cannot_check", str(e))
        assignments = {}
        for t, (model, evaluator, numbers, values, samples) in trials:
            try:
                trees = (left, right) + ((subject,) if subject is not None else ())
                assignments[t] = list(self._assignments(letters, evaluator, trees, values, position, conditions))
            except _Stop as stop:
                env = Env({**values, **{x: 0 for x in letters}}, position=position)
                for tree in (left, right):
                    _, problem, _ = _evaluate(evaluator, tree, env)
                    if problem and problem[0] == "cannot_check":
                        return _Outcome("cannot_check", problem[1])
                return _Outcome("cannot_check", f"the range of index {_shown(stop.detail)} cannot be inferred")
        outcomes = []
        scalars = self._scalars(left, right, assignments, position)
        for name, layout, elementwise, comparison in READINGS:
            if scalars and (layout != "denominator" or comparison in ("transpose", "diagonal", "column")):
                continue  # two numbers: a layout or a transpose changes nothing
            if comparison == "component":
                outcome = self._component(left, right, letters, assignments, position)
            elif comparison == "column":
                outcome = self._column(left, right, assignments, position)
            else:
                outcome = self._reading(left, right, assignments, position, layout, elementwise, comparison)
            if outcome.status == "holds":
                outcome.reading = name
                return outcome
            if outcome.status == "cannot_check" and not name:
                # something has no value: no reading changes that, unless the other side is ill-formed in
                # every reading (then no reading can hold, whatever the side without a value is)
                return self._ill_formed_alone(left, right, assignments, position) or \
                    self._number_beside_array(left, right, assignments, position) or \
                    self._chain_terms_stacked(left, right, assignments, position) or outcome
            outcome.reading = name
            outcomes.append(outcome)
        # a reading that could not be evaluated might have held: no verdict then
        unknown = [o for o in outcomes if o.status == "cannot_check"]
        if unknown:
            return unknown[0]
        # w and o name different words: a step that holds whenever a free index differs from a fixed
        # one (the fixed one has its own line) holds for the other words
        distinct = self._distinct(left, right, letters, conditions, position, subject)
        if distinct is not None:
            return distinct
        regime = self._samples(left, right, letters, assignments, position)
        if regime is not None:
            return regime
        typo = self._sum_letter_typo(left, right, conditions, position, subject)
        if typo is not None:
            return typo
        # no reading holds: the clearest failure, a value difference in a well-formed reading first
        values = [o for o in outcomes if o.status == "fails" and o.reason == "the two sides differ"]
        shapes = [o for o in outcomes if o.status == "fails" and o.reason.startswith("the two sides have")]
        ill = [o for o in outcomes if o.status == "fails" and o.reason.startswith("ill-formed")]
        if ill and outcomes[0] in ill and not values:
            return ill[0]
        for group in (values, shapes, ill):
            if group:
                return group[0]
        return outcomes[0] if outcomes else _Outcome("cannot_check", "nothing to compare")

    def _ill_formed_alone(self, left, right, assignments, position) -> _Outcome | None:
        """One side without a value (an elided matrix, an undefined name), the other ill-formed as
        written in every layout and element-wise reading, at every instantiation: the step fails on
        that side alone ((yhat - y)^T v_c, a 1xV row times a column, equals nothing)."""
        for side, tree, other in (("", right, left), ("left", left, right)):
            shown = None
            for t in range(self.trials):
                if not assignments.get(t):
                    return None
                assignment = assignments[t][0]
                for layout, elementwise in (("denominator", False), ("numerator", False), ("denominator", True)):
                    _, problem, _ = self.value(tree, t, assignment, position, layout, elementwise)
                    if not problem or problem[0] != "ill-formed":
                        break
                    _, unknown, _ = self.value(other, t, assignment, position, layout, elementwise)
                    if not unknown or unknown[0] != "cannot_check":
                        break  # the other side has a value (or is ill-formed too): the readings decide
                    shown = shown or problem[1]
                else:
                    continue
                shown = None
                break
            if shown and self._vectors_only(tree, assignments[0][0], position):
                where = "the right side" if not side else "the left side"
                return _Outcome("fails", f"ill-formed: {shown} ({where} alone, in every reading; the other side "
                                "has no value here)", side=side)
        return None

    def _number_beside_array(self, left, right, assignments, position) -> _Outcome | None:
        """One side without a value whose shape is settled all the same (a derivative of a number
        by a number is a number, however the one depends on the other), the other an array in every
        layout and element-wise reading, at every instantiation, and no entry of it the number can
        stand for (no index of the number's side that the array's does not write): no reading holds."""
        for side, tree, other in (("left", left, right), ("", right, left)):
            shapes = set()
            for t in range(self.trials):
                if not assignments.get(t):
                    return None
                assignment = assignments[t][0]
                _, problem, _ = self.value(tree, t, assignment, position)
                if not problem or problem[0] != "cannot_check" or not self._a_number(tree, t, assignment, position):
                    shapes = set()
                    break
                for layout, elementwise in (("denominator", False), ("numerator", False), ("denominator", True)):
                    value, problem, _ = self.value(other, t, assignment, position, layout, elementwise)
                    if problem or not _is_matrix(value) or value.shape == (1, 1):
                        shapes = set()
                        break
                    shapes.add(value.shape)
                else:
                    continue
                break
            if not shapes:
                continue
            own = free_indices(tree, self.ctx)
            theirs = free_indices(other, self.ctx)
            if [x for x in own if x not in theirs] or _particular_in(tree, self.ctx):
                return None  # dJ/dtheta_i beside yhat - y: the entry i of the array may be meant
            shown = " or ".join(sorted(_shape(sp.zeros(*s)) for s in shapes))
            _, _, _, values, samples = self.model(0)
            where = _where(assignments[0][0], values, samples)
            return _Outcome("fails", f"the two sides have different shapes: the {side or 'right'} side is a number (a "
                            f"derivative of a number by a number, whatever its value; it has none here), the "
                            f"other {shown} in every reading",
                            f"at {where or 'the values drawn'}: a number and {shown}")
        return None

    def _chain_terms_stacked(self, left, right, assignments, position) -> _Outcome | None:
        """dJ/dv = [dJ/dx_1 dx_1/dv; ...; dJ/dx_n dx_n/dv]: the chain rule's terms for one derivative
        (the same J, the same variable v, through different intermediates) are added, not stacked.
        Each written block has the shape of dJ/dv itself (J a number), so the stack of two or more has
        more entries than dJ/dv in every layout, transposed or element-wise, whatever the elided blocks
        are; and no block is the derivative by another member u_1 ... u_n of v's family, which would
        make the stack that family's gradients laid out, one of them the left side (not failed)."""
        for side, tree, stack in (("", left, right), ("left", right, left)):
            if not (isinstance(tree, Tree) and tree.data in ("derivative", "derivop")):
                continue
            if not (isinstance(stack, Tree) and stack.data == "matrix"):
                continue
            top, variable = (tree.children[0], tree.children[1]) if tree.data == "derivative" else \
                (tree.children[1], tree.children[0])
            rows = [row.children for row in stack.children]
            if len(rows) > 1 and any(len(r) > 1 for r in rows):
                continue  # a grid of blocks, not a stack
            blocks = [cell for row in rows for cell in row if not _is_elision(cell)]
            if len(blocks) < 2 or len({str(b) for b in blocks}) < len(blocks):
                continue
            if not all(_chain_term(b, top, variable) for b in blocks):
                continue
            for t in range(self.trials):
                if not assignments.get(t):
                    return None
                assignment = assignments[t][0]
                _, problem, _ = self.value(stack, t, assignment, position)
                if not problem or problem[0] != "cannot_check":
                    return None  # a stack with a value is compared by the readings
                number, problem, _ = self.value(top, t, assignment, position)
                if problem or (_is_matrix(number) and number.shape != (1, 1)):
                    return None
                for layout in ("denominator", "numerator"):
                    whole, problem, _ = self.value(tree, t, assignment, position, layout)
                    if problem:
                        return None
                    for block in blocks:
                        value, problem, _ = self.value(block, t, assignment, position, layout)
                        if problem or _shape(value) != _shape(whole):
                            return None
            count = "a row" if len(rows) == 1 else "a column"
            whole, _, _ = self.value(tree, 0, assignments[0][0], position)
            _, _, _, values, samples = self.model(0)
            where = _where(assignments[0][0], values, samples)
            return _Outcome("fails", f"the two sides have different shapes: {count} of {len(blocks)} or more "
                            f"blocks, each a term of the chain rule for the {'left' if not side else 'right'} "
                            f"side's derivative (each {_shape(whole)}, as it is): that derivative is their sum, "
                            "not their stack",
                            f"at {where or 'the values drawn'}: {_shape(whole)} and {len(blocks)} or more blocks of "
                            f"{_shape(whole)}")
        return None

    def _a_number(self, tree, t, assignment, position) -> bool:
        """The tree is a number in every reading, with or without a value."""
        if not isinstance(tree, Tree):
            return False
        value, problem, _ = self.value(tree, t, assignment, position)
        if problem is None:
            return not _is_matrix(value) or value.shape == (1, 1)
        if problem[0] != "cannot_check":
            return False
        if tree.data in ("derivative", "derivop"):
            top, variable = (tree.children[0], tree.children[1]) if tree.data == "derivative" else \
                (tree.children[1], tree.children[0])
            return self._a_number(top, t, assignment, position) and self._a_number(variable, t, assignment, position)
        if tree.data in ("mul", "neg", "group", "frac", "add", "sub"):
            return all(isinstance(c, Tree) and self._a_number(c, t, assignment, position) for c in tree.children)
        return False

    def _vectors_only(self, tree, assignment, position) -> bool:
        """Every name the tree writes is a number or a vector: its shape error does not rest on how
        gradproof oriented a matrix (U with columns u_w, where the author may mean rows)."""
        if not isinstance(tree, Tree):
            return False
        for node in tree.iter_subtrees():
            if node.data == "call":
                return False  # h(p - q)^T: a call or a product, which one the author means decides the shape
            if node.data != "symbol":
                continue
            value, problem, _ = self.value(node, 0, assignment, position)
            if problem or (_is_matrix(value) and 1 not in value.shape):
                return False
        return True

    def _scalars(self, left, right, assignments, position) -> bool:
        """Both sides numbers (not arrays) at the first index values, in the default reading."""
        if not assignments.get(0):
            return False
        a, pa, _ = self.value(left, 0, assignments[0][0], position)
        b, pb, _ = self.value(right, 0, assignments[0][0], position)
        return pa is None and pb is None and not _is_matrix(a) and not _is_matrix(b)

    def _assignments(self, letters, evaluator, trees, values, position, conditions):
        from .ranges import index_sizes

        env = Env(values, position=position)
        sizes: dict[str, list[int]] = {}
        for tree in trees:
            key = (id(tree), position)
            if key not in self._sizes:
                self._sizes[key] = index_sizes(tree, evaluator, env)
            for k, v in self._sizes[key].items():
                sizes.setdefault(k, []).extend(v)
        missing = [x for x in letters if not sizes.get(x)]
        if missing:
            raise _Stop("missing", missing[0])
        ranges = []
        for x in letters:
            n = min(sizes[x])
            bound = self.ctx.size(self.ctx.letter_bounds[x]) if x in self.ctx.letter_bounds else None
            ranges.append(range(min(n, bound) if bound else n))
        admitted = [dict(zip(letters, c)) for c in itertools.product(*ranges)
                    if _admits(conditions, {**values, **dict(zip(letters, c))})]
        if len(admitted) > MAX_ASSIGNMENTS:
            # every index value with several letters is too many: the coincidences (i = j) and a
            # fixed random choice of the rest, a different choice at each instantiation
            rng = np.random.default_rng(len(admitted) * 7 + sum(values.values()))
            ties = [a for a in admitted if len(set(a.values())) < len(a)]
            rest = [a for a in admitted if len(set(a.values())) == len(a)]
            pick = ties[:MAX_ASSIGNMENTS // 3]
            chosen = rng.choice(len(rest), size=min(len(rest), MAX_ASSIGNMENTS - len(pick)), replace=False) \
                if rest else []
            admitted = pick + [rest[i] for i in sorted(chosen)]
        yield from admitted

    def _reading(self, left, right, assignments, position, layout, elementwise, comparison):
        checked, proved, skipped = 0, True, 0
        step_proof = 0  # operations of the differences proved zero for this step
        heavy = False  # the sides are large expressions: fewer index values per instantiation
        plain = comparison == "equal" and layout == "denominator" and not elementwise
        shared = layout == "denominator" and not elementwise  # the values the plain reading proves
        for t in range(self.trials):
            model, evaluator, numbers, values, samples = self.model(t)
            for n, assignment in enumerate(assignments[t]):
                if heavy and n >= self.FEWEST:
                    break  # every instantiation, but not every index value in each
                # another layout's values are only compared as numbers, but for the first (its size)
                at = self.NUMBERS_ONLY if t == 0 and n > 0 and not shared else t
                a, pa, used_a = self.value(left, at, assignment, position, layout, elementwise)
                b, pb, used_b = self.value(right, at, assignment, position, layout, elementwise)
                a, b = _zero_of_shape(left, a, b), _zero_of_shape(right, b, a)
                if t == 0 and n == 0 and pa is None and pb is None:
                    heavy = self._weight(a) + self._weight(b) > self.EVALUATION_WEIGHT
                where = _where(assignment, values, samples)
                for problem in (pa, pb):
                    if problem and problem[0] == "cannot_check":
                        return _Outcome("cannot_check", problem[1])
                lonely = self._lonely(used_a, used_b)
                if lonely:
                    return _Outcome("cannot_check", lonely)
                if pa or pb:
                    return _Outcome("fails", f"ill-formed: {(pa or pb)[1]}", where, side="" if pb else "left")
                difference = _compare(a, b, comparison, numbers)
                if difference is None:
                    checked += 1
                    if plain and proved:
                        if t == 0 and step_proof < self.PROOF_BUDGET and self.proof_work < self.DOCUMENT_PROOF_BUDGET \
                                and self.proofs < self.DOCUMENT_PROOFS:
                            proved, work = self._identical(a, b)
                            step_proof += work
                            self.proof_work += work
                            self.proofs += 1
                        elif t == 0:
                            proved = False
                    continue
                kind, message = difference
                if message == "no real value":
                    skipped += 1
                    continue
                borrowed = self._borrowed_apart(left, right, used_a, used_b)
                if borrowed:
                    return _Outcome("cannot_check", borrowed)
                if kind == "shape":
                    return _Outcome("fails", f"the two sides have different shapes: {_shape(a)} and {_shape(b)}",
                                    where)
                return _Outcome("fails", "the two sides differ", f"at {where or 'the values drawn'}: {message}",
                                checked=t + 1)
        if checked == 0:
            if skipped:
                return _Outcome("cannot_check", "no real value at the points tried (a logarithm of a negative number?)")
            return _Outcome("cannot_check", "no index values satisfy the stated condition")
        return _Outcome("holds", "", "", "", checked, proved and plain)

    def _identical(self, a, b) -> tuple[bool, int]:
        """_identical(a, b), once per pair of values: it is a function of their expressions (their
        shapes and entries), and equal SymPy expressions are the same tree."""
        return _once(self._proofs, lambda x, y: _identical(x, y, self._operations), a, b)

    def _weight(self, value) -> int:
        """_weight(value), once per value (its entries, or the expression)."""
        return _once(self._weights, _weight, value)

    def _distinct(self, left, right, letters, conditions, position, subject) -> _Outcome | None:
        """The default reading again, with every free index different from the fixed indices of its
        range (x_w next to x_o: another word than o)."""
        if not letters or not self.ctx.particular:
            return None
        model, evaluator, numbers, values, samples = self.model(0)
        from .ranges import index_sizes

        sizes = {}
        for tree in (left, right):
            for k, v in index_sizes(tree, evaluator, Env(values, position=position)).items():
                sizes.setdefault(k, []).extend(v)
        extra = []
        written = set(_particular_in(left, self.ctx)) | set(_particular_in(right, self.ctx))
        for letter in letters:
            for fixed in self.ctx.particular:
                if fixed.startswith("#") or fixed in letters or fixed not in written:
                    continue  # only an index the step itself writes (x_w beside x_o)
                size = self.ctx.size(self.ctx.particular[fixed]) if self.ctx.particular[fixed] else None
                if size and sizes.get(letter) and min(sizes[letter]) == size:
                    extra.append((letter, "!=", fixed))
        if not extra:
            return None
        assignments = {}
        for t in range(self.trials):
            model, evaluator, numbers, values, samples = self.model(t)
            try:
                assignments[t] = list(self._assignments(letters, evaluator, (left, right), values, position,
                                                        list(conditions) + extra))
            except _Stop:
                return None
        outcome = self._plain_readings(left, right, assignments, position)
        if outcome.status != "holds":
            return None
        shown = " and ".join(f"{_shown(a)} ≠ {_shown(b)}" for a, _, b in extra)
        outcome.reading = f"for {shown}: a different letter names a different index" + (
            f", {outcome.reading}" if outcome.reading else "")
        return outcome

    def _samples(self, left, right, letters, assignments, position) -> _Outcome | None:
        """With K sampled indices (negative samples, written u_k for k = 1..K), a free index is
        either one of them or not, and the formulas differ: a step that holds when each free index
        is among the samples or not (o not among them, w among them) holds there (the handout's
        "o is not among the samples")."""
        k = self.ctx.samples()
        if not k:
            return None
        free = [x for x in letters if x not in self.ctx.letter_bounds][:3]
        # each free index among the samples (True), not (False), or either (None: c in dJ/du_w matters
        # not, and constraining it would leave some instantiation without index values); the
        # fewest constraints first
        regimes = sorted((r for r in itertools.product((None, False, True), repeat=len(free))
                          if any(x is not None for x in r)),
                         key=lambda r: (sum(x is not None for x in r), sum(bool(x) for x in r),
                                        tuple(x is None for x in r)))
        for regime in regimes:
            restricted = {t: [a for a in assignments[t]
                              if all(inside is None or (a.get(x, -1) < k) == inside
                                     for x, inside in zip(free, regime))]
                          for t in assignments}
            if not all(restricted.values()) or restricted == assignments:
                continue
            outcome = self._plain_readings(left, right, restricted, position)
            if outcome.status == "holds":
                among = [_shown(x) for x, inside in zip(free, regime) if inside]
                outside = [_shown(x) for x, inside in zip(free, regime) if inside is False]
                words = " and ".join(([f"{', '.join(outside)} not among the K sampled indices"] if outside else []) +
                                     ([f"{', '.join(among)} among them"] if among else []))
                outcome.reading = f"for {words}" + (f", {outcome.reading}" if outcome.reading else "")
                return outcome
        return None

    def _sum_letter_typo(self, left, right, conditions, position, subject) -> _Outcome | None:
        """\\sum_{i=1}^n e^{\\theta_j}: a sum whose body never uses its own letter but uses one that is
        free nowhere else.  The literal reading (n copies of one term) is rarely meant: the step holds
        with the letter read as the sum's, or no failure is claimed."""
        found = _idle_sums(left, right)
        if not found:
            return None
        (bound, written) = found[0]
        fixed = (_rename_in_idle_sums(left, bound, written), _rename_in_idle_sums(right, bound, written))
        try:
            outcome = self.compare(fixed[0], fixed[1], conditions, position, subject)
        except Exception:
            outcome = _Outcome("cannot_check", "")
        if outcome.status == "holds":
            outcome.reading = f"reading {_shown(written)} in the sum over {_shown(bound)} as {_shown(bound)} " \
                              f"(the sum's body does not use its own index: a typo?)"
            return outcome
        return _Outcome("cannot_check", f"the sum over {_shown(bound)} never uses {_shown(bound)} (its body has "
                        f"{_shown(written)} instead): what it stands for is not clear")

    def _plain_readings(self, left, right, assignments, position) -> _Outcome:
        """The layout and transpose readings, for a restricted set of index values."""
        outcome = _Outcome("fails", "")
        for name, layout, elementwise, comparison in READINGS[:4]:
            outcome = self._reading(left, right, assignments, position, layout, elementwise, comparison)
            if outcome.status == "holds":
                outcome.reading = name
                return outcome
        return outcome

    def _borrowed_apart(self, left, right, used_a: set, used_b: set) -> str:
        """A side that uses a call read from a shipped notation (P(O=o|C=c)), the other side in
        quantities of the document's own (a softmax of its theta): they differ only if the document
        means what the notation means, which it does not write, so no failure is claimed."""
        calls = []
        for tree in (left, right):
            for node in (tree.iter_subtrees() if isinstance(tree, Tree) else ()):
                if node.data == "call":
                    for key, defs in self.ctx.calls.items():
                        if key.split("(")[0] == node.children[0].value and any(d.origin == "borrowed" for d in defs):
                            calls.append(defs[0].name)
        if calls and used_a != used_b:
            return (f"{calls[0]} is read from the shipped notation, and the other side is in quantities the document "
                    "defines otherwise; that they differ is no proof of a mistake")
        return ""

    def _lonely(self, used_a: set, used_b: set) -> str:
        """A variable nothing in the document defines or uses elsewhere, on one side only: the
        step relates it to the other side's quantities, which no check can confirm."""
        floating = (used_a ^ used_b) - self.ctx.anchored
        if floating:
            name = sorted(floating)[0]
            letters = [f for f, family in self.ctx.families.items() if family.matrix == name]
            shown = f"{letters[0]}_w" if letters else _shown(name)  # Q made for q_o: say q_o's letter
            return f"{shown} appears on one side only and the document does not define it"
        return ""

    def _component(self, left, right, letters, assignments, position):
        """dJ/d theta = yhat_o - y_o: a vector on one side, its entry on the other."""
        model, evaluator, numbers, values, samples = self.model(0)
        if not assignments.get(0):
            return _Outcome("n/a", "")
        a, pa, _ = self.value(left, 0, assignments[0][0], position)
        b, pb, _ = self.value(right, 0, assignments[0][0], position)
        if pa or pb:
            return _Outcome("n/a", "")
        vector_left = _is_matrix(a) and 1 in a.shape and max(a.shape) > 1
        vector_right = _is_matrix(b) and 1 in b.shape and max(b.shape) > 1
        if vector_left == vector_right or (_is_matrix(a) and not vector_left) or (_is_matrix(b) and not vector_right):
            return _Outcome("n/a", "")
        vector_tree, scalar_tree = (left, right) if vector_left else (right, left)
        scalar_letters = [x for x in free_indices(scalar_tree, self.ctx) if x not in free_indices(vector_tree, self.ctx)]
        candidates = scalar_letters + [x for x in _particular_in(scalar_tree, self.ctx) if x not in scalar_letters]
        for letter in candidates:
            outcome = self._entrywise(vector_tree, scalar_tree, letter, assignments, position)
            if outcome.status == "holds":
                outcome.reading = f"as entry {_shown(letter)} of the vector"
                return outcome
        return _Outcome("n/a", "")

    def _entrywise(self, vector_tree, scalar_tree, letter, assignments, position):
        checked = 0
        for t in range(self.trials):
            model, evaluator, numbers, values, samples = self.model(t)
            for assignment in assignments[t]:
                a, pa, _ = self.value(vector_tree, t, assignment, position)
                b, pb, _ = self.value(scalar_tree, t, assignment, position)
                if pa or pb or not _is_matrix(a) or _is_matrix(b):
                    return _Outcome("n/a", "")
                k = {**values, **assignment}.get(letter)
                if k is None or k >= len(a):
                    return _Outcome("n/a", "")
                if _compare(a[k], b, "equal", numbers) is None:
                    checked += 1
                    continue
                return _Outcome("fails", "")
        return _Outcome("holds", "", "", "", checked) if checked else _Outcome("n/a", "")

    def _column(self, left, right, assignments, position):
        """dJ/du_w = v_c (yhat - y)^T: the matrix on the right holds the vector on the left as its
        column w (or row w)."""
        checked = 0
        member = _member_letter(left, self.ctx)
        if member is None:
            return _Outcome("n/a", "")
        for t in range(self.trials):
            model, evaluator, numbers, values, samples = self.model(t)
            for assignment in assignments[t]:
                a, pa, _ = self.value(left, t, assignment, position)
                b, pb, _ = self.value(right, t, assignment, position)
                if pa or pb or not (_is_matrix(a) and _is_matrix(b)) or 1 not in a.shape or 1 in b.shape:
                    return _Outcome("n/a", "")
                k = {**values, **assignment}.get(member)
                if k is None:
                    return _Outcome("n/a", "")
                n = len(a)
                if b.shape[0] == n and k < b.shape[1]:
                    piece = b[:, k]
                elif b.shape[1] == n and k < b.shape[0]:
                    piece = b[k, :].T
                else:
                    return _Outcome("n/a", "")
                if _compare(sp.Matrix(list(a)), sp.Matrix(list(piece)), "equal", numbers) is None:
                    checked += 1
                    continue
                return _Outcome("fails", "")
        return _Outcome("holds", "", "", "", checked) if checked else _Outcome("n/a", "")


class _Stop(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


def _member_letter(tree, ctx: Context) -> str | None:
    """The index of the vector a derivative is taken by: w in dJ/du_w."""
    if isinstance(tree, Tree) and tree.data in ("derivative", "derivop"):
        variable = tree.children[1] if tree.data == "derivative" else tree.children[0]
        if isinstance(variable, Tree) and variable.data == "symbol":
            for g in (c for c in variable.children[1:] if isinstance(c, Tree)):
                letters = _letters(g)
                if len(letters) == 1 and isinstance(letters[0], str):
                    return letters[0]
    return None


def _particular_in(tree, ctx: Context) -> list[str]:
    out = []
    if not isinstance(tree, Tree):
        return out
    for node in tree.iter_subtrees():
        if node.data == "symbol":
            for g in (c for c in node.children[1:] if isinstance(c, Tree)):
                for x in _letters(g):
                    if isinstance(x, str) and x in ctx.particular and x not in out:
                        out.append(x)
    return out


def _with_loss(step: Step, checker: Checker, trials, seed, condition, role,
               loss: LossFallback | None = None) -> StepResult | None:
    """The step checked with the shipped loss for the document's J (the handout's loss, which the
    document uses without restating it), and said so."""
    loss = loss or checker.loss
    fallback = checker.for_loss(loss)
    if fallback is None:
        return None
    result = check_step(step, fallback.ctx, trials, seed, condition, role, fallback)
    named = ", ".join(_shown(n) for n in loss.tagged) if loss.tagged_only and loss.tagged else _shown(loss.name)
    said = f"{named} read as the loss of the shipped notation '{loss.notation}' ({loss.why})"
    inner = checker._inner_loss(loss)
    if inner is not None:
        said += (f"; the {_shown(loss.name)} it sums, before the document defines {_shown(loss.name)}, as that of "
                 f"'{inner.notation}'")
    if result.status == "holds":
        return replace(result, reading=said + (f"; {result.reading}" if result.reading else ""))
    return replace(result, reason=f"{result.reason} [{said}]")


def _defined_further_on(left, right, ctx: Context, checker: Checker, conditions, position,
                        subject) -> _Outcome | None:
    """\\hat{y}_x used before "let \\hat{y} = softmax(theta)", its one definition in the document: the
    step again with that definition; only a step that then holds is reported (as that reading), since
    before its definition the letter may mean another quantity."""
    names = set()
    for tree in (left, right):
        for node in (tree.iter_subtrees() if isinstance(tree, Tree) else ()):
            if node.data in ("symbol", "call"):
                names.add(node.children[0].value)
    later = []
    for name in sorted(names):
        found = ctx.definitions.get(name, [])
        if len(found) == 1 and found[0].origin == "document" and found[0].position > position:
            later.append(found[0])
    if not later:
        return None
    ahead = replace(ctx, ahead=True, tokens=ctx.tokens)
    try:
        again = checker.variant(ahead, checker.seed).compare(left, right, conditions, position, subject)
    except Exception:
        return None
    if again.status != "holds":
        return None
    shown = ", ".join(f"{_shown(d.name)} as defined further on (line {d.line})" for d in later)
    again.reading = f"reading {shown}" + (f", {again.reading}" if again.reading else "")
    return again


IDENTIFIABLE = ("sigma", "tanh", "exp", "log")  # known functions of one number an author may type another name for


def _applied(name: str) -> re.Pattern:
    """\\name applied to an argument: \\delta( or \\delta\\left(, not \\deltax nor a bare \\delta."""
    return re.compile(rf"\\{name}(?![A-Za-z])(?=\s*(?:\\left\s*)?\()")


def read_as(text: str, name: str, known: str) -> str:
    """text with the function \\name, wherever it is applied, written as the known function \\known."""
    return _applied(name).sub(lambda m: "\\" + known, text) if text else text


def _read_as_known(name: str, step: Step, ctx: Context, checker: Checker, trials, seed, condition,
                   role) -> StepResult | None:
    """\\delta(u_o^T v_c) where the document never defines \\delta: the first step that uses it holds
    with it read as exactly one of the known functions (sigma) and with no other, so the steps after
    that one read it so (said at each).  That first step is no evidence for itself: it stays
    uncheckable, with the reason.  Nothing is read when no function or several fit."""
    macro = _applied(name)
    if ctx.definitions.get(name) or any(k.split("(")[0] == name for k in ctx.calls) or \
            not (macro.search(step.lhs) or macro.search(step.rhs)):
        return None

    def as_(g: str) -> StepResult:
        again = replace(step, lhs=read_as(step.lhs, name, g), rhs=read_as(step.rhs, name, g),
                        subject=read_as(step.subject, name, g))
        checker.identifying = True
        try:
            return check_step(again, ctx, trials, seed, condition, role, checker)
        finally:
            checker.identifying = False

    if name not in checker.identified:
        fits = [g for g in IDENTIFIABLE if as_(g).status == "holds"]
        checker.identified[name] = (fits[0], step.where or f"line {step.line}") if len(fits) == 1 else None
        if len(fits) == 1:
            return StepResult(step.lhs, step.rhs, "cannot_check",
                              f"{_shown(name)} is never defined: this step holds with {_shown(name)} read as "
                              f"{_shown(fits[0])} and with no other of {', '.join(IDENTIFIABLE)}, so the steps after "
                              "it read it so; this one is no evidence for itself", line=step.line,
                              column=step.column, where=step.where)
        return None
    found = checker.identified[name]
    if found is None:
        return None
    result = as_(found[0])
    said = f"{_shown(name)}, never defined, read as {_shown(found[0])} (the one function with which the step at " \
        f"{found[1]} holds)"
    return replace(result, lhs=step.lhs, rhs=step.rhs, subject=step.subject if result.subject else result.subject,
                   reading=f"{said}, {result.reading}" if result.reading else said)


def _is_elision(tree) -> bool:
    return isinstance(tree, Tree) and tree.data == "symbol" and len(tree.children) == 1 and \
        tree.children[0].value == "cdots"


def _factors(tree) -> list:
    if isinstance(tree, Tree) and tree.data == "mul":
        return [f for c in tree.children for f in _factors(c)]
    if isinstance(tree, Tree) and tree.data == "group" and len(tree.children) == 1:
        return _factors(tree.children[0])
    return [tree]


def _chain_term(block, top, variable) -> bool:
    """dJ/dx_1 dx_1/dv: derivatives whose first numerator is J and whose last variable is v."""
    factors = _factors(block)
    if len(factors) < 2 or not all(isinstance(f, Tree) and f.data in ("derivative", "derivop") for f in factors):
        return False
    first, last = factors[0], factors[-1]
    numerator = first.children[0] if first.data == "derivative" else first.children[1]
    by = last.children[1] if last.data == "derivative" else last.children[0]
    return numerator == top and by == variable


def _defined_on_this_line(left, right, ctx: Context, step: Step) -> bool:
    """A name of the step whose one definition is made further on in the step's own line."""
    for tree in (left, right):
        for node in (tree.iter_subtrees() if isinstance(tree, Tree) else ()):
            if node.data == "symbol":
                found = ctx.definitions.get(node.children[0].value, [])
                if len(found) == 1 and found[0].origin == "document" and found[0].position > step.position \
                        and found[0].line == step.line:
                    return True
    return False


def _through_every_member(left, right, checker: Checker, conditions, position, subject) -> _Outcome | None:
    """b = -u_k^T v_c, J = f(a) + \\sum_k f(b), then dJ/db db/dv_c with no k of its own: the chain
    rule through every b_k, so each term that differentiates by b is summed over k as J's sum runs
    (dJ/db_k db_k/dv_c summed), and said."""
    evaluator = checker.model(0)[1] if checker.trials else None
    found = evaluator.model.expanded.get("#family") if evaluator is not None else None
    if not found:
        return None
    name, node = found

    def by_name(tree) -> bool:
        return isinstance(tree, Tree) and any(
            n.data in ("derivative", "derivop") and isinstance(n.children[1 if n.data == "derivative" else 0], Tree)
            and n.children[1 if n.data == "derivative" else 0].data == "symbol"
            and len(n.children[1 if n.data == "derivative" else 0].children) == 1
            and n.children[1 if n.data == "derivative" else 0].children[0].value == name
            for n in tree.iter_subtrees())

    def summed(tree):
        if isinstance(tree, Tree) and tree.data in ("add", "sub"):
            return Tree(tree.data, [summed(c) for c in tree.children])
        if by_name(tree):
            return Tree("bigop", list(node.children[:-1]) + [tree])
        return tree

    new_left, new_right = summed(left), summed(right)
    if new_left == left and new_right == right:
        return None
    new_subject = summed(subject) if subject is not None else None
    try:
        again = checker.compare(new_left, new_right, conditions, position, new_subject)
    except Exception:
        return None
    if again.status not in ("holds", "fails"):
        return None
    letter = _binder(node.children[1])[0]
    said = (f"the chain rule through every {_shown(name)}_{_shown(letter)}: each term by {_shown(name)} summed over "
            f"{_shown(letter)}, as the sum that {_shown(name)} is in runs")
    again.reading = f"{said}, {again.reading}" if again.reading else said
    return again


def _as_any_vectors(left, right, ctx: Context, checker: Checker, conditions, position) -> _Outcome | None:
    """The step again with each column letter it writes bare (u, v) read as a vector of its own, as
    long as one column; reported as that reading when it holds (or fails: a rule stated wrong)."""
    bare = set()
    for side in (left, right):
        for node in (side.iter_subtrees() if isinstance(side, Tree) else ()):
            if node.data == "symbol" and len(node.children) == 1 and str(node.children[0]) in ctx.families:
                bare.add(str(node.children[0]))
    arrays = dict(ctx.arrays)
    for letter in sorted(bare):
        matrix = ctx.arrays.get(ctx.families[letter].matrix)
        if matrix is None:
            return None
        length = matrix.rows if ctx.families[letter].axis == "column" else matrix.cols
        arrays[letter] = Array(letter, length, "1", "any vector (a rule)")
    if not bare:
        return None
    vectors = replace(ctx, arrays=arrays, families={k: v for k, v in ctx.families.items() if k not in bare},
                      anchored=ctx.anchored | bare, tokens=ctx.tokens)
    try:
        again = checker.variant(vectors).compare(left, right, conditions, position, None)
    except Exception:
        return None
    if again.status not in ("holds", "fails"):
        return None
    shown = ", ".join(sorted(_shown(b) for b in bare))
    said = f"with {shown} any vectors (a rule; the document's {'/'.join(sorted(bare))}_w are columns)"
    again.reading = f"{said}, {again.reading}" if again.reading else said
    return again


def _differentiates_bare(left, right, name: str) -> bool:
    """The step differentiates with respect to the bare symbol name."""
    for side in (left, right):
        if not isinstance(side, Tree):
            continue
        for node in side.iter_subtrees():
            if node.data in ("derivative", "derivop"):
                variable = node.children[1] if node.data == "derivative" else node.children[0]
                if isinstance(variable, Tree) and variable.data == "symbol" and len(variable.children) == 1 and \
                        variable.children[0].value == name:
                    return True
    return False


def _uses_letter_o(left, right, ctx: Context) -> bool:
    from .implicit import subscript_letters

    return "o" in ctx.particular or any("o" in subscript_letters(t) for t in (left, right) if isinstance(t, Tree))


def _zero_as_o(tree):
    """The tree with every subscript 0 read as the letter o."""
    if not isinstance(tree, Tree):
        return tree
    if tree.data == "symbol":
        return Tree("symbol", [tree.children[0]] + [_digit_zero(c) for c in tree.children[1:]])
    if tree.data == "from_value_except":
        return tree  # \sum_{j=-m, j \neq 0}: an offset 0, not a subscript
    return Tree(tree.data, [_zero_as_o(c) for c in tree.children])


def _digit_zero(node):
    if isinstance(node, Token):
        return Token("NAME", "o") if node.type == "NUMBER" and node.value == "0" else node
    if node.data == "number" and len(node.children) == 1 and node.children[0] == "0":
        return Token("NAME", "o")
    return Tree(node.data, [_digit_zero(c) for c in node.children])


def _idle_sums(left, right) -> list[tuple[str, str]]:
    """(the sum's letter, the letter its body uses instead) for sums whose body does not use their
    letter, when that other letter appears nowhere else in the step."""
    from .evaluate import _binder
    from .implicit import free_letters

    out = []
    for side, other in ((left, right), (right, left)):
        if not isinstance(side, Tree):
            continue
        for node in side.iter_subtrees():
            if node.data != "bigop" or len(node.children) < 3:
                continue
            letter = _binder(node.children[1])[0]
            body = free_letters(node.children[-1])
            if not isinstance(letter, str) or letter in body or len(body) != 1:
                continue
            written = body[0]
            elsewhere = [x for x in free_letters(Tree("x", [c for c in (side, other) if isinstance(c, Tree)]))]
            outside = sum(1 for n in (side, other) if isinstance(n, Tree) for m in n.iter_subtrees()
                          if m.data == "symbol" and written in free_letters(m)) - sum(
                1 for m in node.children[-1].iter_subtrees() if m.data == "symbol" and written in free_letters(m))
            if outside == 0 and written in elsewhere:
                out.append((letter, written))
    return out


def _rename_in_idle_sums(tree, bound: str, written: str):
    """The tree with written read as bound inside the sums over bound that do not use bound."""
    from .evaluate import _binder
    from .implicit import free_letters

    if not isinstance(tree, Tree):
        return tree
    if tree.data == "bigop" and len(tree.children) >= 3 and _binder(tree.children[1])[0] == bound and \
            bound not in free_letters(tree.children[-1]):
        return Tree(tree.data, tree.children[:-1] + [_rename(tree.children[-1], written, bound)])
    return Tree(tree.data, [_rename_in_idle_sums(c, bound, written) for c in tree.children])


def _rename(tree, old: str, new: str):
    if isinstance(tree, Token):
        return tree.update(value=new) if tree.type == "NAME" and tree.value == old else tree
    return Tree(tree.data, [_rename(c, old, new) for c in tree.children])


def _where(assignment, values, samples) -> str:
    parts = [f"{_shown(x)}={v + 1}" for x, v in assignment.items()]
    parts += [f"{_shown(x)}={v + 1}" for x, v in values.items() if not x.startswith("#")]
    parts += [f"{name}={[v + 1 for v in vs]}" for name, vs in samples.items()]
    return ", ".join(parts)  # counted from 1


PROOF_LIMIT = 4000  # operations: larger differences are left to the numbers


def _identical(a, b, memo: dict | None = None) -> tuple[bool, int]:
    """(both sides equal as functions of the symbolic entries, the operations that took): the derive
    stage's rational-function test; False means only "not shown", never "different"."""
    from gradproof.derive.prover import rational_zero

    parts = list(a - b) if _is_matrix(a) else [sp.sympify(a) - sp.sympify(b)]
    memo = {} if memo is None else memo
    work = sum(operations(p, memo) for p in parts)
    if work > PROOF_LIMIT:
        return False, 0
    try:
        return all(p == 0 or rational_zero(p) for p in parts), work
    except Exception:  # a form the rational test does not take (Max, Abs): not shown
        return False, work


def _once(cache: dict, compute, *values):
    """compute(*values), kept in cache under what compute reads of them (_proof_key); computed
    afresh when a value cannot be hashed."""
    try:
        key = tuple(_proof_key(v) for v in values)
        return cache[key]
    except KeyError:
        out = cache[key] = compute(*values)
        return out
    except TypeError:  # not hashable
        return compute(*values)


def _proof_key(value) -> tuple:
    """What _identical and _weight read of a value: an array's shape and entries, or the expression
    itself (with its type: the float 2.0 is not the integer 2)."""
    if _is_matrix(value):
        return "array", value.shape, tuple(value)
    return "expression", type(value), value


def _weight(value) -> int:
    """The size of a value: the nodes of its expression tree, over every entry of an array."""
    entries = list(value) if _is_matrix(value) else [value]
    return sum(sum(1 for _ in sp.preorder_traversal(e)) for e in entries if isinstance(e, sp.Basic))


# -- steps and displays --------------------------------------------------------------------------

def check_step(step: Step, ctx: Context, trials: int = 3, seed: int = 0, condition=None, role: str = "",
               checker: Checker | None = None) -> StepResult:
    base = dict(line=step.line, column=step.column, where=step.where)
    if step.relation == "unbalanced":
        column = _unbalanced_column(step.lhs)
        return StepResult(step.lhs, "", "unparsed", f"column {column}: unbalanced braces: a {{ or }} without its "
                          "partner", **base)
    if role:
        note = f"; {step.note}" if step.note else ""
        return StepResult(step.lhs, step.rhs, "defines", f"{role} (used by the steps that follow{note})", **base)
    if step.relation in (":=", "=:", "\\coloneqq"):
        return StepResult(step.lhs, step.rhs, "cannot_check", "a definition (:=) introduces a name; nothing to check",
                          **base)
    if step.relation not in ("=",) and "stackrel" not in step.relation and "overset" not in step.relation:
        shown = {"\\Rightarrow": "\\Rightarrow (an implication)", "\\approx": "\\approx (an approximation)",
                 "\\propto": "\\propto (a proportionality)"}.get(step.relation, step.relation)
        return StepResult(step.lhs, step.rhs, "cannot_check", f"the relation {shown} is not an equality", **base)
    checker = checker or Checker(ctx, trials, seed)
    try:
        left = checker.parse(step.lhs)
    except ParseError as e:
        return StepResult(step.lhs, step.rhs, "unparsed", unparsed_reason(step.lhs, e), **base)
    try:
        right = checker.parse(step.rhs)
    except ParseError as e:
        return StepResult(step.lhs, step.rhs, "unparsed", unparsed_reason(step.rhs, e), **base)
    conditions = _conditions(step, condition)
    if step.inline and _names_an_index(left, right, ctx):
        return StepResult(step.lhs, step.rhs, "cannot_check", "a statement about which index is meant (a one-hot "
                          "entry equal to 1), not an identity", **base)
    foreign = _foreign(checker, left, right, step.position)
    if foreign:
        named = re.match(r"(\S+) as defined", foreign)
        if named and checker.loss is not None and named.group(1) == _shown(checker.loss.name):
            fallback = _with_loss(step, checker, trials, seed, condition, role)
            if fallback is not None:
                return fallback
        return StepResult(step.lhs, step.rhs, "cannot_check", foreign, **base)
    subject_tree = None
    if step.subject:
        try:
            subject_tree = checker.parse(step.subject)
        except ParseError:
            subject_tree = None
    try:
        outcome = checker.compare(left, right, conditions, step.position, subject_tree)
    except RecursionError:
        outcome = _Outcome("cannot_check", "a definition refers to itself")
    except Exception as e:  # a gap in the checker is never the author's mistake: said, not raised
        outcome = _Outcome("cannot_check", f"gradproof could not evaluate this step ({type(e).__name__}: "
                           f"{str(e)[:80]}); please report it")
    if outcome.status == "cannot_check" and outcome.reason.startswith("an index 0,") and _uses_letter_o(
            left, right, ctx):
        # u_0 beside u_o: the digit 0 typed for the letter o; the step is checked as the letter
        try:
            again = checker.compare(_zero_as_o(left), _zero_as_o(right), conditions, step.position,
                                    _zero_as_o(subject_tree) if subject_tree is not None else None)
        except Exception:
            again = _Outcome("cannot_check", "")
        if again.status == "holds":
            again.reading = "reading the index 0 as the letter o" + (f", {again.reading}" if again.reading else "")
            outcome = again
    if outcome.status == "cannot_check" and ", which a sum runs over: a derivative with respect to" in outcome.reason:
        again = _through_every_member(left, right, checker, conditions, step.position, subject_tree)
        if again is not None:
            outcome = again
    if outcome.status == "cannot_check" and re.search(
            r"appears on one side only and the document does not define it|does not involve .* as the document "
            r"defines it", outcome.reason):
        again = _defined_further_on(left, right, ctx, checker, conditions, step.position, subject_tree)
        if again is not None:
            outcome = again
    elif outcome.status == "fails" and _defined_on_this_line(left, right, ctx, step):
        # dE/du_j = y_j - t_j, where t_j = 1(j = j^*): the where-clause of the step's own line says
        # what t is here, though an earlier definition (e_j := y_j - t_j) made t a quantity of the model
        again = _defined_further_on(left, right, ctx, checker, conditions, step.position, subject_tree)
        if again is not None:
            outcome = again
    rule = re.match(r"(\S+) needs one or two indices", outcome.reason) if outcome.status == "cannot_check" else None
    if rule and _differentiates_bare(left, right, rule.group(1)):
        # \partial s(x) / \partial x = s(x)(1 - s(x)) beside x_i: a rule stated for any scalar x
        name = rule.group(1)
        scalar = replace(ctx, scalars=ctx.scalars | {name}, families={k: v for k, v in ctx.families.items()
                                                                        if k != name}, tokens=ctx.tokens)
        try:
            again = checker.variant(scalar).compare(left, right, conditions, step.position, None)
        except Exception:
            again = _Outcome("cannot_check", "")
        if again.status == "holds":
            again.reading = f"with {_shown(name)} any number (a rule; the document's {_shown(name)}_i are vectors)"
            outcome = again
    if rule and rule.group(1) in ctx.families and outcome.status == "cannot_check":
        # z(u, v) = -\log\sigma(u^\top v), then dz/dv: u and v any vectors (the columns u_w, v_w elsewhere)
        again = _as_any_vectors(left, right, ctx, checker, conditions, step.position)
        if again is not None:
            outcome = again
    if outcome.status == "fails" and outcome.side == "left" and step.subject and outcome.reason.startswith(
            "ill-formed"):
        # the left side is the previous step's right side: its fault is that step's, not this one's
        outcome = _Outcome("cannot_check", f"the left side is ill-formed ({outcome.reason[len('ill-formed: '):]}), "
                           "as the step before found; this step's right side is compared with the chain's subject")
    if ctx.einstein and outcome.status == "fails":
        # which indices an author sums implicitly is gradproof's guess (a repeated index, but W_{ib}
        # beside W^T...): a difference under that guess is no proof of a mistake
        outcome = _Outcome("cannot_check", f"with a repeated index summed (Einstein summation, as the document "
                           f"says), the sides differ ({outcome.reason}); which indices the author sums is read "
                           "from the letters, so this is not reported as a failure")
    undefined = re.match(r"undefined function (\w+)\(", outcome.reason) if outcome.status == "cannot_check" \
        else None
    named_loss = checker.loss_named(undefined.group(1)) if undefined else None
    unknown = re.match(r"(\S+) is not defined, so how it depends on", outcome.reason) \
        if outcome.status == "cannot_check" and named_loss is None else None
    if unknown:  # \partial J_{skip-gram} / \partial U, the tagged loss written bare
        named_loss = next((loss for loss in checker.losses for n in loss.tagged if _shown(n) == unknown.group(1)),
                          None)
    if named_loss is not None:
        fallback = _with_loss(step, checker, trials, seed, condition, role, named_loss)
        if fallback is not None:
            return fallback
    if undefined and named_loss is None and not checker.identifying:
        read = _read_as_known(undefined.group(1), step, ctx, checker, trials, seed, condition, role)
        if read is not None:
            return read
    from .implicit import has_elision

    if outcome.status in ("holds", "fails") and any(
            isinstance(side, Tree) and any(n.data == "derivative_by_expression" for n in side.iter_subtrees())
            for side in (left, right)):
        by = "a derivative by an expression: its every occurrence taken as the variable, the rest held fixed"
        outcome.reading = f"{by}, {outcome.reading}" if outcome.reading else by
    if outcome.status in ("holds", "fails") and (has_elision(left) or has_elision(right)):
        elided = "the terms elided by \\cdots read as the whole sum"
        outcome.reading = f"{elided}, {outcome.reading}" if outcome.reading else elided
    reason = outcome.reason
    if outcome.status == "holds":
        used = set(free_indices(left, ctx)) | set(free_indices(right, ctx)) | set(ctx.particular)
        applied = [c for c in conditions if _letter_name(c[0]) in used and _letter_name(c[2]) in used]
        reason = _holds_reason(ctx, outcome, applied)
    if step.note:
        reason = f"{reason} ({step.note})"
    result = StepResult(step.lhs, step.rhs, outcome.status, reason, outcome.counterexample,
                        trials if outcome.status == "holds" else outcome.checked, "", outcome.reading, **base)
    if subject_tree is not None:
        try:
            against = checker.compare(subject_tree, right, conditions, step.position, subject_tree)
        except Exception:  # the comparison with the subject is extra information only
            return result
        verdict = {"holds": "agrees", "fails": "differs"}.get(against.status, "")
        result = replace(result, subject=step.subject, against_subject=verdict)
    return result


def _names_an_index(left, right, ctx: Context) -> bool:
    """Prose's "the real target $y_j = 1$": an entry of a one-hot vector said to be 1 (or 0)."""
    if not (isinstance(right, Tree) and right.data == "number") and not (isinstance(right, Token)):
        return False
    if isinstance(right, Tree) and right.children[0].value not in ("0", "1"):
        return False
    if not (isinstance(left, Tree) and left.data == "symbol" and len(left.children) == 2):
        return False
    return left.children[0].value in ctx.onehots


TELLING = ("sigma", "sigmoid", "tanh", "relu", "ReLU", "softplus", "softmax")


def _foreign(checker: Checker, left, right, position: int) -> str:
    """A derivative of a defined loss, said equal to an expression in functions that loss never
    uses (its J is the naive-softmax loss; the step's has sigma): the document's J here is
    another quantity, which it does not define."""
    from .ranges import _names_through

    evaluator = checker.model(0)[1] if checker.trials else None
    if evaluator is None:
        return ""
    for tree, other in ((left, right), (right, left)):
        if not (isinstance(tree, Tree) and tree.data in ("derivative", "derivop")):
            continue
        numerator = tree.children[0] if tree.data == "derivative" else tree.children[1]
        if not (isinstance(numerator, Tree) and numerator.data in ("symbol", "call")):
            continue
        name = numerator.children[0].value
        definition = checker.ctx.definition(name, position)
        if definition is None:
            continue
        mine = _names_through(evaluator, numerator, position, set()) | _functions(numerator)
        try:
            mine |= _functions(evaluator.definition_tree(definition))
            for n in list(mine):
                d = checker.ctx.definition(n, position)
                if d is not None:
                    mine |= _functions(evaluator.definition_tree(d))
        except Exception:
            return ""
        if "exp" in mine:
            mine.add("softmax")  # a softmax written out: exponentials over their sum
        theirs = _functions(other)
        for n in _names_through(evaluator, other, position, set()):
            d = checker.ctx.definition(n, position)
            if d is not None:
                try:
                    theirs |= _functions(evaluator.definition_tree(d))
                except Exception:
                    pass
        alien = sorted(f for f in theirs - mine if f in TELLING and not ({"sigma", "sigmoid"} & mine and f in ("sigma",
                                                                                                          "sigmoid")))
        if alien:
            where = f" (line {definition.line})" if definition.line else ""
            return (f"{_shown(name)} as defined{where} does not involve {alien[0]}, which this side uses: here "
                    f"{_shown(name)} is another quantity, which the document does not define")
    return ""


def _functions(tree) -> set[str]:
    out = set()
    if not isinstance(tree, Tree):
        return out
    for node in tree.iter_subtrees():
        if node.data == "func":
            out.add(node.children[0].value)
        elif node.data == "call":
            out.add(node.children[0].value)
    return out


def _conditions(step: Step, condition) -> tuple:
    out = []
    for c in (step.condition, condition):
        if not c:
            continue
        if isinstance(c[0], str):
            out.append(c)
        else:
            out.extend(c)
    return tuple(dict.fromkeys(out))


def _holds_reason(ctx: Context, outcome: _Outcome, conditions) -> str:
    under = ""
    if conditions:
        shown = " and ".join(f"{_shown(a)} {'=' if r == '=' else '≠'} {_shown(b)}" for a, r, b in conditions)
        under = f", under the condition {shown}"
    if outcome.proved:
        sizes = ", ".join(f"{k} = {v}" for k, v in ctx.sizes.items() if v)
        at = f" at {sizes}" if sizes else ""
        return f"proved: an identity in the variables{at} ({outcome.checked} evaluations){under}"
    return f"numerically: {outcome.checked} evaluations at random values{under}"


def _unbalanced_column(text: str) -> int:
    opened = []
    for i, ch in enumerate(text):
        if ch == "{" and (i == 0 or text[i - 1] != "\\"):
            opened.append(i)
        elif ch == "}" and (i == 0 or text[i - 1] != "\\"):
            if not opened:
                return i + 1
            opened.pop()
    return opened[-1] + 1 if opened else len(text)


def check_display(display: Display, ctx: Context, trials: int = 3, roles: dict | None = None,
                  checker: Checker | None = None) -> EquationResult:
    from .suggest import correct_form

    roles = roles or {}
    checker = checker or Checker(ctx, trials)
    results = [check_step(s, ctx, trials, condition=display.condition, role=roles.get(id(s), ""), checker=checker)
               for s in display.steps]
    if any(r.status == "fails" for r in results) and display.steps and ctx.source in ("shipped", "named"):
        # the derive stage's claims are written in the shipped notation: offered under it only
        correct = correct_form(display.steps[0].lhs, ctx, display.condition, checker)
        results = [replace(r, correct=correct, counterexample=f"{r.counterexample}; correct form: {correct}")
                   if r.status == "fails" and correct else r for r in results]
    results = _blame(results)
    if not results:
        reason = "prose inside math" if display.prose else "no equality to check"
        line, column, where = display.line, display.column, display.where
        return EquationResult(display.label, display.line, "cannot_check",
                              (StepResult(display.source[:60], "", "cannot_check", reason, line=line, column=column,
                                          where=where),), display.inline, display.where)
    order = ("fails", "unparsed", "cannot_check", "holds", "defines")
    status = next(s for s in order if any(r.status == s for r in results))
    if status == "defines" or (status == "holds" and all(r.status in ("holds", "defines") for r in results)):
        status = "holds" if any(r.status == "holds" for r in results) else "defines"
    return EquationResult(display.label, display.line, status, tuple(results), display.inline, display.where)


def _blame(results: list[StepResult]) -> list[StepResult]:
    """Where a chain left its subject, and where it came back to it."""
    out, state = [], "agrees"
    for r in results:
        if not r.subject:
            state = "agrees"
            out.append(r)
            continue
        note = ""
        if r.against_subject == "differs" and state == "agrees":
            note = f"the chain goes wrong here: this no longer equals {_short(r.subject)}"
            state = "differs"
        elif r.against_subject == "agrees" and state == "differs":
            note = f"the chain recovers here: this equals {_short(r.subject)} again"
            state = "agrees"
        out.append(replace(r, chain=note))
    return out


def _short(latex: str, limit: int = 50) -> str:
    flat = " ".join(latex.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
