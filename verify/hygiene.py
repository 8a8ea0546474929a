"""Hygiene: what must hold before finite differences mean anything."""
from __future__ import annotations

import numpy as np

from .problem import Evaluation, Point, Problem
from .results import Finding


def fingerprint(point: Point) -> dict[str, np.ndarray]:
    """A position-sensitive summary of each input: small ones are copied, matrices are
    multiplied by a fixed random vector (one BLAS pass, where a copy and a comparison cost
    three passes and fresh pages).  Any change but one orthogonal to the weights shows."""
    out = {}
    for name, x in point.items():
        if x.ndim < 2 or x.size <= 1 << 16:
            out[name] = x.copy()
        else:
            weights = np.random.default_rng(len(name)).random(x.shape[-1]) + 0.5
            out[name] = np.concatenate([(x @ weights).reshape(-1), [np.vdot(x, x)]])
    return out


def mutated_inputs(before: Point, after: Point, problem: Problem) -> list[Finding]:
    return [Finding("mutation", "error", f"the function modified its input {name} in place: "
                    "callers' arrays are not safe") for name in before if not _same(before[name], after[name])]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    # the NaN-aware comparison costs 8x more: only needed when the plain one fails
    return np.array_equal(a, b) or np.array_equal(a, b, equal_nan=True)


def structure(ev: Evaluation, problem: Problem) -> list[Finding]:
    findings = []
    if isinstance(ev.loss, complex) or not np.isfinite(np.real(ev.loss)):
        findings.append(Finding("nonfinite", "error", f"the loss is {ev.loss}"))
    for name, x in problem.point.items():
        g = np.asarray(ev.grads[name]) if ev.grads[name] is not None else None
        label = problem.label(name)
        if g is None or g.dtype == object or not np.issubdtype(g.dtype, np.number):
            findings.append(Finding("dtype", "error", f"{label} is not a numeric array ({type(ev.grads[name]).__name__})"))
            continue
        if g.shape != x.shape:
            findings.append(Finding("shape", "error", f"{label} has shape {g.shape}, but its input has shape {x.shape}"))
            continue
        # one pass and no temporary when all is well (a sum of squares is finite only if every entry is,
        # unless entries near 1e154 overflow it: then the entry-by-entry scan decides)
        bad = None if np.isfinite(np.vdot(g, g)) else ~np.isfinite(g)
        if bad is not None and bad.any():
            first = ", ".join(str(int(i)) for i in np.unravel_index(int(np.argmax(bad)), g.shape))
            findings.append(Finding("nonfinite", "error", f"{label} has {int(bad.sum())} NaN or inf entries, "
                                    f"first at {label}[{first}]"))
        if g.dtype not in (np.float64, np.float32):
            findings.append(Finding("dtype", "warning", f"{label} has dtype {g.dtype}, not float64"))
    return findings


# Two calls at one point may differ in the last bits: BLAS kernels take different SIMD paths
# for differently aligned arrays.  Randomness shows up far above this.
ROUNDING = 64


def nondeterminism(first: Evaluation, second: Evaluation, problem: Problem, dtype=None) -> list[Finding]:
    """Two calls at the same point must agree to rounding; otherwise no difference quotient means anything."""
    out = []
    eps = float(np.finfo(dtype or gradient_dtype(first, problem)).eps)
    a, b = complex(first.loss), complex(second.loss)
    if not abs(a - b) <= ROUNDING * eps * max(abs(a), abs(b), 1e-300):
        out.append(Finding("nondeterminism", "error", f"two calls at the same point returned losses {number(first.loss)} "
                           f"and {number(second.loss)}: seed or remove the randomness before checking"))
    for name in problem.point:
        g, h = np.asarray(first.grads[name], dtype=float), np.asarray(second.grads[name], dtype=float)
        if g.shape != h.shape or _same(g, h):
            continue
        gap = float(np.max(np.abs(g - h)))
        if not gap <= ROUNDING * eps * max(float(np.max(np.abs(g))), 1e-300):
            out.append(Finding("nondeterminism", "error", f"two calls at the same point returned different "
                               f"{problem.label(name)} (max difference {gap:.3g})"))
    return out


def nondeterminism_along(loss, second: Evaluation, problem: Problem, dtype, directions, known) -> list[Finding]:
    """The second call's loss against the first's, and its gradient against the first's along the
    probe directions (g.d, known before the first gradient was let go): noise in a gradient moves
    g.d with probability 1."""
    from . import directions as dirs

    eps = float(np.finfo(dtype).eps)
    out = []
    a, b = complex(loss), complex(second.loss)
    if not abs(a - b) <= ROUNDING * eps * max(abs(a), abs(b), 1e-300):
        out.append(Finding("nondeterminism", "error", f"two calls at the same point returned losses {number(loss)} "
                           f"and {number(second.loss)}: seed or remove the randomness before checking"))
    for direction, (dot, size) in zip(directions, known):
        again = sum(dirs.dot(np.asarray(second.grads[k], dtype=np.float64), d) for k, d in direction.items())
        if not abs(again - dot) <= ROUNDING * eps * max(size, 1e-300):
            labels = ", ".join(problem.label(k) for k in direction)
            out.append(Finding("nondeterminism", "error", f"two calls at the same point returned different gradients "
                               f"({labels}: their projections on a random direction differ by {abs(again - dot):.3g})"))
            break
    return out


def gradient_dtype(ev: Evaluation, problem: Problem) -> np.dtype:
    dtypes = [np.asarray(ev.grads[n]).dtype for n in problem.point]
    return np.dtype(np.float32) if any(d == np.float32 for d in dtypes) else np.dtype(np.float64)


def number(value) -> str:
    """A loss as people write it: 3.4741 or 2.5+1j, never np.float64(3.4741)."""
    value = complex(value) if np.iscomplexobj(value) else float(np.real(value))
    if isinstance(value, complex):
        return f"{value.real:.17g}{value.imag:+.17g}j"
    return f"{value:.17g}"


def _single(values: np.ndarray) -> bool:
    """Every value is a float32 number (and they are not all whole numbers, which any precision gives)."""
    values = values[np.isfinite(values) & (values != 0)]
    if values.size == 0 or np.all(values == np.round(values)):
        return False
    return bool(np.all(values.astype(np.float32).astype(np.float64) == values))


def _sample(g: np.ndarray, count: int = 256) -> np.ndarray:
    flat = g.reshape(-1)
    return np.asarray(flat[:: max(1, flat.size // count)][:count], dtype=np.float64)


def compute_dtype(ev: Evaluation, problem: Problem) -> np.dtype:
    """The precision the code computes in: float32 when it returns float32, and also when it
    returns float64 arrays holding float32 numbers (a cast at the end), which a float64 result
    does with probability 2^-29 per value."""
    if gradient_dtype(ev, problem) == np.float32 or np.asarray(ev.loss).dtype == np.float32:
        return np.dtype(np.float32)
    loss = np.asarray([np.real(ev.loss)], dtype=np.float64)
    grads = [_sample(np.asarray(ev.grads[n], dtype=np.float64)) for n in problem.point]
    values = np.concatenate([loss, *grads])
    informative = values[np.isfinite(values) & (values != 0) & (values != np.round(values))]
    if informative.size >= 3 and _single(values):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def precision(ev: Evaluation, problem: Problem, dtype: np.dtype) -> list[Finding]:
    if dtype != np.float32:
        return []
    returned = "returns float32" if gradient_dtype(ev, problem) == np.float32 else \
        "returns float64 arrays whose values are all float32 numbers"
    return [Finding("float32", "info", f"the code {returned}: it computes in single precision, so finite differences "
                    "use float32 steps and tolerances (a gradient right to float32 precision passes; one wrong by 1% "
                    "does not)")]
