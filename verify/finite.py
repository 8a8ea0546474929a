"""Numerical derivatives of phi(t) = f(x + t d) at t = 0: small composable pieces.

Every estimate comes with an estimate of its own error, so the verifier's tolerance is
derived from the finite-difference error actually incurred, not from a fixed rtol.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Phi = Callable[[float], float]

# Relative steps per dtype: central differences balance truncation (h^2) against rounding
# (eps / h) near eps**(1/3); removing the h^2 term allows a larger, less noisy step.
STEP = {np.dtype(np.float64): 1e-4, np.dtype(np.float32): 3e-2}
EPS = {np.dtype(np.float64): float(np.finfo(np.float64).eps), np.dtype(np.float32): float(np.finfo(np.float32).eps)}


@dataclass(frozen=True)
class Derivative:
    value: float  # the estimate of phi'(0)
    error: float  # an estimate of |value - phi'(0)|: truncation plus rounding
    evaluations: int
    values: tuple[tuple[float, float], ...] = ()  # (t, phi(t)) pairs used, for reuse
    rounding: float = 0.0  # the part of error that is rounding (the rest is the truncation estimate)

    @property
    def finite(self) -> bool:
        """Every evaluation was a number: the stencil stayed where the function is defined."""
        return all(np.isfinite(v) for _, v in self.values) and bool(np.isfinite(self.value))


def richardson(phi: Phi, h: float, phi0: float, eps: float, rounding: float = 16.0) -> Derivative:
    """Central difference at h, with its h^2 error term estimated and removed.

    D(h) = (phi(h) - phi(-h)) / 2h = phi'(0) + h^2 phi3 / 6 + O(h^4), where phi3 is the
    third derivative; the third difference phi(2h) - 3 phi(h) + 3 phi(0) - phi(-h) equals
    h^3 phi3 + O(h^4), so one more evaluation (phi(0) is known) gives the h^2 term: the
    Richardson idea on three points.  The error estimate is the size of that correction
    plus the rounding error of the stencil, eps * max|phi| / h times its coefficients.
    """
    plus, far, minus = phi(h), phi(2 * h), phi(-h)  # in this order x + 2hd is x + hd plus hd
    central = (plus - minus) / (2 * h)
    correction = (far - 3 * plus + 3 * phi0 - minus) / (6 * h)
    scale = max(abs(phi0), abs(plus), abs(minus), abs(far))
    rounding = rounding * eps * scale / h
    return Derivative(central - correction, abs(correction) + rounding, 3,
                      ((h, plus), (-h, minus), (2 * h, far)), rounding)


def complex_step(phi_c: Callable[[complex], complex], h: float) -> float:
    """Im phi(i h) / h: no subtraction, so no cancellation error (Squire and Trapp 1998)."""
    return float(np.imag(phi_c(1j * h))) / h


@dataclass(frozen=True)
class OneSided:
    forward: float
    backward: float
    jump: float  # |forward - backward|


def is_kink(values: dict[float, float], phi0: float, h: float, eps: float, relative: float = 1e-3) -> OneSided | None:
    """One-sided slopes that disagree by more than curvature explains mark a kink.

    For a smooth phi the forward slopes at h and 2h differ by about h phi''/2, and the
    forward and backward slopes at h by h phi'': twice as much.  At a kink the forward
    slopes agree while the jump between forward and backward stays.  ``relative``: the smallest
    jump, relative to the slopes, that counts (0: any jump curvature and rounding do not explain,
    as at a sum of kinks whose one-sided slopes nearly cancel).
    """
    forward, wide, backward = (values[h] - phi0) / h, (values[2 * h] - phi0) / (2 * h), (phi0 - values[-h]) / h
    jump, curvature = abs(forward - backward), 2 * abs(wide - forward)
    noise = 16 * eps * max(abs(phi0), abs(values[h]), abs(values[-h]), abs(values[2 * h])) / h
    slope = max(abs(forward), abs(backward), noise)
    if jump > 4 * curvature + noise and jump > relative * slope:
        return OneSided(forward, backward, jump)
    return None


@dataclass(frozen=True)
class TaylorTest:
    """r(t) = phi(t) - phi(0) - t * slope shrinks like t^2 when slope = phi'(0), like t otherwise."""

    steps: tuple[float, ...]
    remainders: tuple[float, ...]
    order: float  # fitted exponent of r(t) ~ t^order

    @property
    def says_correct(self) -> bool:
        return self.order > 1.5


def taylor_test(phi: Phi, phi0: float, slope: float, t0: float, count: int = 4) -> TaylorTest:
    steps = tuple(t0 / 2 ** k for k in range(count))
    remainders = tuple(abs(phi(t) - phi0 - t * slope) for t in steps)
    usable = [(t, r) for t, r in zip(steps, remainders) if r > 0]
    if len(usable) < 2:
        return TaylorTest(steps, remainders, float("inf"))
    order = float(np.polyfit(np.log([t for t, _ in usable]), np.log([r for _, r in usable]), 1)[0])
    return TaylorTest(steps, remainders, order)
