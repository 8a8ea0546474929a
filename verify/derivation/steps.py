"""Check each step of a derivation: both sides at random instantiations, every value of the
free indices, and a counterexample when they differ."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import sympy as sp
from lark import Token, Tree

from .document import Display, Step
from .evaluate import CannotCheck, Env, Evaluator, Model, ShapeError, _is_matrix, _letters, index_sizes
from gradproof.derive.notation import Notation
from gradproof.derive.latex import ParseError, parse
from sympy.matrices.exceptions import ShapeError as SympyShapeError

MAX_ASSIGNMENTS = 64


@dataclass(frozen=True)
class StepResult:
    lhs: str
    rhs: str
    status: str  # holds, fails, cannot_check, unparsed
    reason: str = ""
    counterexample: str = ""
    trials: int = 0
    correct: str = ""  # for a failing step: the right-hand side the toolkit's derivation gives


@dataclass(frozen=True)
class EquationResult:
    label: str | None
    line: int
    status: str
    steps: tuple[StepResult, ...]


def free_indices(tree, notation: Notation, bound: frozenset[str] = frozenset()) -> list[str]:
    """Index letters used as subscripts outside every sum that binds them, in order."""
    out: list[str] = []
    if isinstance(tree, Token) or tree is None:
        return out
    if tree.data == "bigop":
        rest = tree.children[1:]
        sub = rest[0] if len(rest) >= 2 else None
        letter = None
        if isinstance(sub, Token):
            letter = sub.value
        elif isinstance(sub, Tree) and sub.data in ("from_value", "not_equal"):
            letter = _letters(sub.children[0])[0] if sub.data == "not_equal" else sub.children[0].value
            if sub.data == "not_equal":
                out += [x for x in _letters(sub.children[1]) if isinstance(x, str) and x not in bound]
        elif isinstance(sub, Tree):
            letters = _letters(sub)
            letter = letters[0] if letters else None
        return out + [x for x in free_indices(rest[-1], notation, bound | {letter}) if x not in out]
    if tree.data in ("symbol", "delta"):
        groups = [c for c in tree.children[1:] if isinstance(c, Tree)] if tree.data == "symbol" else tree.children
        for g in groups:
            for letter in _letters(g):
                for x in (letter[1] if isinstance(letter, tuple) else (letter,)):
                    if isinstance(x, str) and x not in bound and x not in notation.indices and x not in out:
                        out.append(x)
        return out
    if tree.data == "delta2":
        return [t.value for t in tree.children if t.value not in bound and t.value not in notation.indices]
    for child in tree.children:
        for letter in free_indices(child, notation, bound):
            if letter not in out:
                out.append(letter)
    return out


def _numbers(value, numbers) -> np.ndarray:
    if _is_matrix(value):
        return np.array(value.xreplace(numbers).evalf(), dtype=float)
    return np.array(float(sp.sympify(value).xreplace(numbers)))


def _show(x: np.ndarray) -> str:
    return np.array2string(x.reshape(-1) if x.ndim == 2 and 1 in x.shape else x, precision=4, max_line_width=80) \
        if x.ndim else f"{float(x):.6g}"


def _admits(condition, assignment: dict[str, int]) -> bool:
    if condition is None:
        return True
    a, relation, b = condition
    if a not in assignment or b not in assignment:
        return True
    return (assignment[a] == assignment[b]) == (relation == "=")


def check_step(step: Step, notation: Notation, trials: int = 3, seed: int = 0, condition=None) -> StepResult:
    if step.relation == "unbalanced":
        column = _unbalanced_column(step.lhs)
        return StepResult(step.lhs, "", "unparsed", f"column {column}: unbalanced braces")
    if step.relation == ":=":
        return StepResult(step.lhs, step.rhs, "cannot_check", "a definition (:=) introduces a name; nothing to check")
    if step.relation not in ("=",) and "stackrel" not in step.relation:
        return StepResult(step.lhs, step.rhs, "cannot_check", f"the relation {step.relation} is not an equality")
    names = notation.names()
    try:
        left, right = parse(step.lhs, names).tree, parse(step.rhs, names).tree
    except ParseError as e:
        return StepResult(step.lhs, step.rhs, "unparsed", f"column {e.column}: {e}")
    rng = np.random.default_rng(seed)
    letters = [x for x in free_indices(left, notation) + free_indices(right, notation)]
    letters = list(dict.fromkeys(letters))
    checked, proved = 0, True
    for trial in range(trials):
        c, o = (int(v) for v in rng.choice(notation.sizes["W"], size=2, replace=False))
        arrays = {name: [int(v) for v in rng.integers(notation.size(values), size=notation.size(length))]
                  for name, (length, values) in notation.arrays.items()}
        try:
            model = Model(notation, {"c": c, "o": o}, arrays)
        except (CannotCheck, ShapeError, ParseError) as e:
            return StepResult(step.lhs, step.rhs, "cannot_check", f"the notation's definitions: {e}")
        sizes = {**index_sizes(left, notation, model.shapes())}
        for k, v in index_sizes(right, notation, model.shapes()).items():
            sizes.setdefault(k, []).extend(v)
        evaluator = Evaluator(model)
        missing = [x for x in letters if not sizes.get(x)]
        if missing:  # an undefined symbol usually hides behind an index without a range: say that instead
            probe = Env({"c": c, "o": o, **{x: 0 for x in letters}})
            problem = _evaluate_sides(evaluator, left, right, probe)[2]
            reason = problem[1] if problem and problem[0] == "cannot_check" else \
                f"the range of index {missing[0]} cannot be inferred"
            return StepResult(step.lhs, step.rhs, "cannot_check", reason)
        # in name order: a set's order changes with the process's hash seed, and results must not
        symbols = sorted((x for m in model.primitives.values() for x in m.free_symbols), key=str)
        numbers = {x: float(rng.normal()) for x in symbols}
        ranges = [range(min(sizes[x])) for x in letters]
        for values in itertools.islice(itertools.product(*ranges), MAX_ASSIGNMENTS):
            assignment = dict(zip(letters, values))
            if not _admits(condition, {**assignment, "c": c, "o": o}):
                continue
            env = Env({"c": c, "o": o, **assignment})
            where = ", ".join(f"{x}={v + 1}" for x, v in zip(letters, values))
            where = f"{where}{', ' if where else ''}c={c + 1}, o={o + 1}" + "".join(
                f", {name}={[v + 1 for v in values]}" for name, values in arrays.items())  # counted from 1
            a, b, problem = _evaluate_sides(evaluator, left, right, env)
            if problem is not None:
                status, reason = problem
                return StepResult(step.lhs, step.rhs, status, reason, where if status == "fails" else "")
            if _is_matrix(a) != _is_matrix(b) or (_is_matrix(a) and a.shape != b.shape):
                return StepResult(step.lhs, step.rhs, "fails", "the two sides have different shapes: "
                                  f"{_shape(a)} and {_shape(b)}", where)
            x, y = _numbers(a, numbers), _numbers(b, numbers)
            if not np.allclose(x, y, rtol=1e-8, atol=1e-10):
                return StepResult(step.lhs, step.rhs, "fails", "the two sides differ",
                                  f"at {where}: left {_show(x)}, right {_show(y)}", trial + 1)
            proved = proved and _identical(a, b)
            checked += 1
    if checked == 0:
        return StepResult(step.lhs, step.rhs, "cannot_check", "no index values satisfy the stated condition")
    under = f", under the condition {' '.join(condition)} stated before it" if condition else ""
    if proved:
        sizes = ", ".join(f"{k} = {v}" for k, v in notation.sizes.items())
        return StepResult(step.lhs, step.rhs, "holds", f"proved: an identity in the matrix entries at {sizes}, "
                          f"for all {checked} index values tried{under}", "", trials)
    return StepResult(step.lhs, step.rhs, "holds", f"numerically: {trials} random instantiations, "
                      f"{checked} evaluations{under}", "", trials)


PROOF_LIMIT = 4000  # operations: larger differences are left to the numbers


def _identical(a, b) -> bool:
    """Both sides equal as functions of the symbolic matrix entries (the derive stage's
    rational-function test); False means only "not shown", never "different"."""
    from gradproof.derive.prover import rational_zero

    parts = list(a - b) if _is_matrix(a) else [sp.sympify(a) - sp.sympify(b)]
    if sum(sp.count_ops(p) for p in parts) > PROOF_LIMIT:
        return False
    return all(p == 0 or rational_zero(p) for p in parts)


def _evaluate_sides(evaluator, left, right, env):
    """(a, b, problem): an undefined symbol on either side makes the step uncheckable even if
    the other side is ill-formed, so both sides are tried before judging."""
    values, problems = [], []
    for side in (left, right):
        try:
            values.append(evaluator.value(side, env))
        except CannotCheck as e:
            problems.append(("cannot_check", str(e)))
            values.append(None)
        except (ShapeError, SympyShapeError) as e:
            problems.append(("fails", f"ill-formed: {e}"))
            values.append(None)
        except (ArithmeticError, LookupError, TypeError, ValueError) as e:  # e.g. log 0 at some index value
            problems.append(("cannot_check", f"no value here ({type(e).__name__}: {e})"))
            values.append(None)
    problems.sort(key=lambda p: p[0] != "cannot_check")
    return values[0], values[1], problems[0] if problems else None


def _unbalanced_column(text: str) -> int:
    opened = []
    for i, ch in enumerate(text):
        if ch == "{":
            opened.append(i)
        elif ch == "}":
            if not opened:
                return i + 1
            opened.pop()
    return opened[-1] + 1 if opened else len(text)


def _shape(x) -> str:
    return f"{x.shape[0]}x{x.shape[1]}" if _is_matrix(x) else "scalar"


def check_display(display: Display, notation: Notation, trials: int = 3) -> EquationResult:
    from dataclasses import replace

    from .suggest import correct_form

    results = tuple(check_step(s, notation, trials, condition=display.condition) for s in display.steps)
    if display.steps and any(r.status == "fails" for r in results):
        correct = correct_form(display.steps[0].lhs, notation, display.condition)
        # the counterexample carries the correct right-hand side where the toolkit derives it
        results = tuple(replace(r, correct=correct, counterexample=f"{r.counterexample}; correct form: {correct}")
                        if r.status == "fails" and correct else r for r in results)
    if not results:
        reason = "prose inside math" if display.prose else "no equality to check"
        return EquationResult(display.label, display.line, "cannot_check",
                              (StepResult(display.source[:60], "", "cannot_check", reason),))
    order = ("unparsed", "fails", "cannot_check", "holds")
    status = next(s for s in order if any(r.status == s for r in results)) if any(
        r.status == "fails" for r in results) else min((r.status for r in results), key=order.index)
    return EquationResult(display.label, display.line, status, results)
