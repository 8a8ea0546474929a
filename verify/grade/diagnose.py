"""Name the mistake: compare a wrong output with what known mistakes would have produced.

A function's suspects are its rubric's own mistakes ([[function.suspect]], verify.grade.suspects): the
function, the output they concern, what the output would be with that mistake, and what to tell
the student, in the terms of the derivation; after them come the mutants derived from its model
(verify.grade.mistakes).  Candidates are computed from
the reference in the grader, never shown for hidden cases; only the message is.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .assignment import Case, Function


@dataclass(frozen=True)
class Suspect:
    functions: tuple[str, ...]
    role: str
    message: str  # {name} is the output's name; {row} "row" or "column", {at} how a student indexes a
    # slice of it, {moved} where a moved row belongs: the function's words
    candidate: Callable[[Case, dict, tuple], np.ndarray | None]


def factor(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> float | None:
    """The number r (not 0 or 1) with got = r * want, measured, if there is one."""
    if got.shape != want.shape or not np.any(want) or not np.all(np.isfinite(got)):
        return None
    r = float(np.vdot(want, got) / np.vdot(want, want))
    if not np.isfinite(r) or abs(r) < 1e-12 or abs(r - 1) < 1e-6 or not close(got, r * want, rtol, atol):
        return None
    if not _simple(r):  # a scalar, or a vector in a one-dimensional space (C = 2 entries summing to 0), is some
        return None       # multiple of the right one: only a whole number or its inverse says something
    return r


def _simple(r: float) -> bool:
    return any(abs(r - n) < 1e-6 * n or abs(r - 1 / n) < 1e-6 / n for n in range(2, 13))


def _factor_words(r: float) -> str:
    """'a factor 3 (3 times the right value)', 'a factor 1/2 (half the right value)', as measured."""
    for n in range(2, 13):
        if abs(r - n) < 1e-6 * n:
            return f"a factor {n} ({'twice' if n == 2 else f'{n} times'} the right value)"
        if abs(r - 1 / n) < 1e-6 / n:
            return f"a factor 1/{n} ({'half' if n == 2 else f'1/{n} of'} the right value)"
    return f"a factor {r:.4g} ({r:.4g} times the right value)"


def close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    """Same shape, and every entry within atol + rtol * (the largest expected entry, at least 1)."""
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return False
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1.0)
    return bool(np.all(np.abs(got - want) <= atol + rtol * scale))


def diagnose(function: Function, case: Case, expected: dict, drawn: tuple, index: int, name: str, got: np.ndarray,
             rtol: float, atol: float) -> str | None:
    """The message of the first known mistake that explains got, or None: the function's own suspects,
    then the mistakes derived from its model (function.mutants), then a row moved or a factor."""
    role = function.role(index)
    want = expected[role]
    words = {"row": "row", "at": "[indices]", "moved": "they belong in the row of the entry they are the gradient of",
             **(function.words(case) if function.words else {})}
    if got.size and not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        return function.overflow
    if got.shape == want.shape and np.any(want) and not np.any(got):
        zero = [s for s in function.suspects if case.function in s.functions and s.role == role and "vanishes" in s.message]
        return zero[0].message.format(name=name, **words) if zero else f"{name} is all zeros"
    for suspect in function.suspects:
        if case.function not in suspect.functions or suspect.role != role:
            continue
        try:
            candidate = suspect.candidate(case, expected, drawn)
        except (ValueError, IndexError, KeyError, TypeError):
            continue
        if candidate is not None and _differs(candidate, want) and close(got, np.asarray(candidate, dtype=float), rtol, atol):
            return suspect.message.format(name=name, **words)
    for message, candidate in (function.mutants(case, role) if function.mutants else ()):
        if candidate is not None and _differs(candidate, want) and close(got, np.asarray(candidate, dtype=float), rtol, atol):
            return message.format(name=name, **words)
    moved = _moved_row(got, want, rtol, atol)
    if moved:
        return f"{name} has the right values in the wrong {words['row']}: {words['moved']}"
    r = factor(got, want, rtol, atol)
    if r is not None and r > 0:
        return f"{name} is off by {_factor_words(r)}"
    return None


def _moved_row(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    """Whether got has the values of want's one nonzero row, in another row only."""
    if got.ndim != 2 or got.shape != want.shape:
        return False
    have, need = np.flatnonzero(np.any(got != 0, axis=1)), np.flatnonzero(np.any(want != 0, axis=1))
    return len(have) == 1 and len(need) == 1 and have[0] != need[0] and close(got[have[0]], want[need[0]], rtol, atol)


def where_wrong(got: np.ndarray, want: np.ndarray, rtol: float, atol: float, limit: int = 6) -> str:
    """Which rows (or entries) are off, without their values: safe to say for hidden cases."""
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1.0)
    bad = np.abs(got - want) > atol + rtol * scale
    if got.ndim == 2:
        rows = np.flatnonzero(bad.any(axis=1))
        shown = ", ".join(map(str, rows[:limit])) + (", ..." if len(rows) > limit else "")
        return f"wrong in {len(rows)} of {got.shape[0]} rows ({shown})"
    if got.ndim == 1:
        entries = np.flatnonzero(bad)
        shown = ", ".join(map(str, entries[:limit])) + (", ..." if len(entries) > limit else "")
        return f"wrong in {len(entries)} of {got.size} entries ({shown})"
    return "wrong"


def _differs(candidate, want: np.ndarray) -> bool:
    """A candidate only explains something if the mistake changes the output (shape or values)."""
    candidate = np.asarray(candidate, dtype=float)
    return candidate.shape != want.shape or bool(np.any(candidate != want))
