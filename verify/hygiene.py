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
        bad = ~np.isfinite(g)
        if bad.any():
            first = ", ".join(str(int(i)) for i in np.unravel_index(int(np.argmax(bad)), g.shape))
            findings.append(Finding("nonfinite", "error", f"{label} has {int(bad.sum())} NaN or inf entries, "
                                    f"first at {label}[{first}]"))
        if g.dtype == np.float32:
            findings.append(Finding("float32", "info", f"{label} is float32: the code computes in single precision, "
                                    "so finite differences use float32 steps and tolerances (about 1e-3 relative); "
                                    "a gradient right only to float32 precision still passes"))
        elif g.dtype != np.float64:
            findings.append(Finding("dtype", "warning", f"{label} has dtype {g.dtype}, not float64"))
    return findings


# Two calls at one point may differ in the last bits: BLAS kernels take different SIMD paths
# for differently aligned arrays.  Randomness shows up far above this.
ROUNDING = 64


def nondeterminism(first: Evaluation, second: Evaluation, problem: Problem) -> list[Finding]:
    """Two calls at the same point must agree to rounding; otherwise no difference quotient means anything."""
    out = []
    eps = float(np.finfo(gradient_dtype(first, problem)).eps)
    a, b = complex(first.loss), complex(second.loss)
    if not abs(a - b) <= ROUNDING * eps * max(abs(a), abs(b), 1e-300):
        out.append(Finding("nondeterminism", "error", f"two calls at the same point returned losses {first.loss!r} "
                           f"and {second.loss!r}: seed or remove the randomness before checking"))
    for name in problem.point:
        g, h = np.asarray(first.grads[name], dtype=float), np.asarray(second.grads[name], dtype=float)
        if g.shape != h.shape or _same(g, h):
            continue
        gap = float(np.max(np.abs(g - h)))
        if not gap <= ROUNDING * eps * max(float(np.max(np.abs(g))), 1e-300):
            out.append(Finding("nondeterminism", "error", f"two calls at the same point returned different "
                               f"{problem.label(name)} (max difference {gap:.3g})"))
    return out


def gradient_dtype(ev: Evaluation, problem: Problem) -> np.dtype:
    dtypes = [np.asarray(ev.grads[n]).dtype for n in problem.point]
    return np.dtype(np.float32) if any(d == np.float32 for d in dtypes) else np.dtype(np.float64)
