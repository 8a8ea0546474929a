"""check_gradient: is a function's gradient the derivative of its loss?

Small inputs: every coordinate, central differences with Richardson extrapolation.  Large
inputs: seeded random directions plus a structure-aware probe on the rows that carry signal,
each a Richardson directional derivative.  The tolerance is a fixed multiple of each
estimate's own error estimate, so it never loosens with size.

Steps come from each coordinate's own scale (the spread of its input, and its own magnitude
where the input keeps one sign, so a step never leaves a domain such as x > 0).  A stencil
that crosses a kink or leaves the domain is retried with a smaller step; a kink that sits at
the point itself is reported as one ("not differentiable here") and the gradient is checked a
few steps beside it, where it is defined.  A direction whose tolerance is too coarse for one
input (a kink or curvature elsewhere) is followed by a probe of that input alone, so no
input's error is diluted by another's.  A failing direction is localised by group testing,
which stops once the wrong entries are found or its time is spent, and says what it left.
"""
from __future__ import annotations

import platform
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import directions as dirs
from . import hygiene
from .directions import Outer
from .finite import EPS, STEP, Derivative, OneSided, is_kink, richardson, taylor_test
from .localise import Search, Tested, localise
from .problem import Evaluation, InterfaceError, Point, Problem, ProblemError, from_callable
from .results import Entry, Finding, GradientCheck, InputCheck

SAFETY = 8.0  # tolerance = SAFETY x (estimated finite-difference error + rounding of g.d)
FULL_LIMIT = 2000  # up to this many coordinates, check every one
LARGE = 1_000_000  # from this many, one combined direction keeps a passing check cheap
LADDER = (1.0, 1 / 16, 1 / 256)  # step multipliers: a crossed kink or a domain exit shrinks with the step
SHIFT = 0.02  # a kink at the point itself: check this far beside it, relative to each coordinate's scale
# A probe must resolve this relative error of every input's gradient, or that input gets a probe
# of its own.  float32 code: a 1% error is the finding's promise.
RESOLUTION = {np.dtype(np.float64): 1e-4, np.dtype(np.float32): 2e-3}
LOCALISE_SECONDS = 10.0
RELEASE = 1 << 20  # inputs this large: their gradient is not held while the probes run (memory), but fetched again
Progress = Callable[[str, int, int], None]


class Oracle:
    """Calls the problem's function, counts calls, and turns its exceptions into ProblemError."""

    def __init__(self, problem: Problem):
        self.problem, self.calls = problem, 0

    def __call__(self, x: Point) -> Evaluation:
        self.calls += 1
        try:
            with np.errstate(all="ignore"):  # a NaN off the domain is judged by the checker, not printed
                return self.problem.evaluate(x)
        except ProblemError:
            raise
        except Exception as e:  # user code: any exception is a finding, never a crash
            raise ProblemError(f"the function raised {type(e).__name__}: {e}") from None

    def loss(self, x: Point) -> float:
        return float(np.real(self(x).loss))


def check_gradient(fn: Callable, inputs: Mapping[str, object], *, wrt: Sequence[str] | None = None,
                   grad_fn: Callable | None = None, fixed: Mapping[str, object] | None = None,
                   labels: Mapping[str, str] | None = None, signal_rows: Mapping[str, Sequence[int]] | None = None,
                   name: str | None = None, **options) -> GradientCheck:
    """Check fn's gradients at ``inputs``.  fn(**inputs, **fixed) returns (loss, grad, ...) in
    the order of ``wrt`` (default: all inputs), or the loss alone when ``grad_fn`` gives the
    gradients.  Options: seed, full_limit, localise_budget, localise_seconds, progress."""
    problem = from_callable(fn, inputs, wrt=wrt, grad_fn=grad_fn, fixed=fixed, name=name, labels=labels,
                            signal_rows=signal_rows)
    return check_problem(problem, **options)


def check_problem(problem: Problem, *, seed: int = 0, full_limit: int = FULL_LIMIT, localise_budget: int = 80,
                  localise_seconds: float = LOCALISE_SECONDS, progress: Progress | None = None) -> GradientCheck:
    start = time.perf_counter()
    oracle = Oracle(problem)
    report = progress or (lambda stage, done, total: None)
    meta = dict(seed=seed, versions=_versions())
    try:
        before = hygiene.fingerprint(problem.point)
        first = oracle(problem.point)
        after = hygiene.fingerprint(problem.point)
        findings = hygiene.mutated_inputs(before, after, problem) + hygiene.structure(first, problem)
        if any(f.severity == "error" for f in findings):
            return _finish(problem, (), findings, oracle, start, 0.0, "float64", meta)
        size = sum(x.size for x in problem.point.values())
        dtype = hygiene.compute_dtype(first, problem)
        findings += hygiene.precision(first, problem, dtype)

        # A second call at the same point: noise in the loss would otherwise be absorbed into the
        # finite-difference error estimate.  The first call showed the function leaves its
        # inputs alone, so both get the originals (same arrays, same alignment, same rounding).
        # At large sizes it comes after the probes' g.d are known and the gradient is released,
        # and its gradient is compared along them: two gradients at once would be one array more.
        large = size >= LARGE and size > full_limit
        if not large:
            findings += hygiene.nondeterminism(first, oracle(problem.point), problem, dtype)
        context = _Context(problem, oracle, first, dtype, np.random.default_rng(seed), report)
        loss = first.loss
        del first
        if size <= full_limit:
            checks, more = _every_coordinate(context)
        else:
            def repeat(probes, known):
                return hygiene.nondeterminism_along(loss, oracle(problem.point), problem, dtype,
                                                    [d for _, d in probes], known)
            checks, more = _directional(context, localise_budget, localise_seconds, large=large,
                                        repeat=repeat if large else None)
        findings += more
    except ProblemError as e:
        kind = "interface" if isinstance(e, InterfaceError) else "error"
        return _finish(problem, (), [Finding(kind, "error", str(e))], oracle, start, 0.0, "float64", meta)
    return _finish(problem, checks, findings, oracle, start, STEP[dtype], str(dtype), meta)


def _finish(problem, checks, findings, oracle, start, step, dtype, meta) -> GradientCheck:
    passed = bool(checks) and all(c.passed for c in checks) and not any(f.severity == "error" for f in findings)
    return GradientCheck(problem.name, passed, tuple(checks), tuple(findings), time.perf_counter() - start,
                         oracle.calls, meta["seed"], step, dtype, meta["versions"])


def _versions() -> dict:
    from gradproof.derive import about

    return {"gradproof": about.version(), "numpy": np.__version__, "python": platform.python_version()}


SAMPLE = 1 << 16  # entries an input's scale and signs are read from, beyond which a pass costs a call


def _sample(x: np.ndarray) -> np.ndarray:
    flat = x.reshape(-1)
    return flat if flat.size <= SAMPLE else flat[:: flat.size // SAMPLE]


def _spread(x: np.ndarray) -> float:
    """The scale an input varies on: its standard deviation (not its RMS, so an offset of 1e4
    does not make the step 1e4 times too large), from an even sample of 65,536 entries at most
    (a step needs a scale, not its last digit); a constant input its magnitude, zeros 1."""
    sample = _sample(x)
    if sample.size > 1:
        mean = float(np.mean(sample))
        spread = float(np.sqrt(max(float(np.vdot(sample, sample)) / sample.size - mean * mean, 0.0)))
        if spread > 1e-6 * abs(mean):  # below that the subtraction above is rounding
            return spread
        if sample.size < x.size:  # constant on the sample: read the whole input before concluding
            flat = x.reshape(-1)
            mean = float(np.mean(flat))
            spread = float(np.sqrt(max(float(np.vdot(flat, flat)) / flat.size - mean * mean, 0.0)))
            if spread > 1e-6 * abs(mean):
                return spread
    top = float(np.max(np.abs(x))) if x.size else 0.0
    return top if top > 0 else 1.0


def _extremes(x: np.ndarray) -> tuple[bool, float]:
    """(one sign throughout, max |x|).  A sample with both signs settles the first at no cost; the
    second then only bounds placement rounding, where 8 RMS of the sample serves."""
    if x.size == 0:
        return False, 0.0
    sample = _sample(x)
    if sample.size < x.size and float(np.min(sample)) < 0 < float(np.max(sample)):
        return False, 8 * float(np.sqrt(np.vdot(sample, sample) / sample.size)) + float(np.max(np.abs(sample)))
    low, high = float(np.min(x)), float(np.max(x))
    return (low > 0 or high < 0), max(high, -low)


class _Context:
    def __init__(self, problem: Problem, oracle: Oracle, first: Evaluation, dtype, rng, report):
        self.problem, self.oracle, self.dtype, self.rng, self.report = problem, oracle, dtype, rng, report
        self.eps, self.h = EPS[dtype], STEP[dtype]
        self.base: dict[str, np.ndarray] = dict(problem.point)
        self.spread = {k: _spread(x) for k, x in self.base.items()}
        # an input of one sign keeps it: each coordinate's step is also bounded by its own size
        extremes = {k: _extremes(x) for k, x in self.base.items()}
        self.signed = {k: e[0] for k, e in extremes.items()}
        self.top = {k: e[1] for k, e in extremes.items()}
        self.buffers: dict[str, np.ndarray] = {}
        self.held: tuple[int, float] | None = None
        self.shifted = False
        self._set_point(first)

    def _set_point(self, ev: Evaluation) -> None:
        self.loss = float(np.real(ev.loss))
        self._grads = {k: np.asarray(ev.grads[k], dtype=np.float64) for k in self.base}
        self.gnorm = {k: float(np.sqrt(np.vdot(g, g))) for k, g in self._grads.items()}
        self.gx: dict[str, float] = {}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        if self._grads is None:  # released: one more call at the point gives them again
            ev = self.oracle(self.base)
            self._grads = {k: np.asarray(ev.grads[k], dtype=np.float64) for k in self.base}
        return self._grads

    def release(self) -> None:
        """At large sizes the gradient is a whole array more while the probes run: once g.d of
        every probe is known, it is dropped (a failing check fetches it again to localise)."""
        if any(x.size >= RELEASE for x in self.base.values()):
            self.gx = {k: self._gx(k) for k in self.base} if self.dtype == np.float32 else self.gx
            self._grads = None
        self.gx: dict[str, float] = {}

    def shift(self, delta: Point) -> None:
        """Move the point (a kink sits on it): every later probe is made at base + delta."""
        moved = {k: dirs.plus(self.base[k], delta[k]) if k in delta else self.base[k] for k in self.base}
        ev = self.oracle(moved)
        if not np.isfinite(np.real(ev.loss)):
            raise ProblemError("the loss is not finite beside the point")
        self.base, self.shifted, self.held = moved, True, None
        self._set_point(ev)

    def scale(self, name: str) -> np.ndarray | float:
        """Each coordinate's own scale: its input's spread, and for a one-signed input at most its size."""
        if self.signed[name]:
            return np.minimum(np.abs(self.base[name]), self.spread[name])
        return self.spread[name]

    def coordinate_scale(self, name: str, i: int) -> float:
        x = float(self.base[name].flat[i])
        return min(abs(x), self.spread[name]) if self.signed[name] else self.spread[name]

    def phi(self, direction: Point, factor: float = 1.0) -> Callable[[float], float]:
        """t -> loss(x + t * factor * d).  At large sizes forming x + t d costs as much as the call
        being checked, so it goes into buffers reused across calls, in one pass at t = +-1."""
        base = self.base
        for k in direction:
            if k not in self.buffers:
                self.buffers[k] = np.empty_like(base[k])

        def at(t):
            t = t * factor
            for k, d in direction.items():
                buf = self.buffers[k]
                if t == 2 and self.held == (id(direction), 1) and not isinstance(d, Outer):
                    buf += d  # x + 2d is x + d plus d: one pass
                else:
                    dirs.form(buf, base[k], d, t)
            self.held = (id(direction), t)  # the buffers are shared by every phi: say what they hold
            return self.oracle.loss({k: self.buffers[k] if k in direction else base[k] for k in base})
        return at

    def block_phi(self, name: str, start: int, stop: int, direction: Point, factor: float = 1.0) -> Callable[[float], float]:
        """t -> loss(x + t d_B) for d restricted to flat indices [start, stop) of one input:
        one copy of x and a small update, not two passes over the whole array."""
        base = self.base
        buf = self.buffers.setdefault(name, np.empty_like(base[name]))
        d = direction[name].reshape(-1)[start:stop]

        def at(t):
            t = t * factor
            self.held = None
            np.copyto(buf, base[name])
            buf.reshape(-1)[start:stop] += t * d
            return self.oracle.loss({k: buf if k == name else base[k] for k in base})
        return at

    def analytic(self, direction: Point) -> tuple[float, float]:
        """(g.d, a bound on its rounding error in units of eps): the gradient's entries carry
        rounding errors of a few eps each, independent of the random direction's signs, so
        their sum along d is bounded by |g| max|d| (float64: by sum |g d| <= |g| |d|, as always)."""
        dot = sum(dirs.dot(self.grads[k], d) for k, d in direction.items())
        if self.dtype == np.float32:
            size = sum(self.gnorm[k] * dirs.largest(d) for k, d in direction.items())
        else:  # Cauchy-Schwarz bound on sum |g d|: two cheap passes instead of a temporary array
            size = sum(self.gnorm[k] * float(np.sqrt(dirs.square(d))) for k, d in direction.items())
        return dot, size

    def placement(self, names) -> float:
        """The error of phi from where x + t d lands: each coordinate is rounded to the precision the
        code computes in (a float32 cast, or the float64 sum itself), at most eps |x_i| / 2, weighted
        by g_i.  The roundings are independent: their sum is about eps |g x| / sqrt(12) (float32,
        where it matters, measured as that: 3 standard deviations), and at most eps max|x| |g|."""
        if self.dtype == np.float32:
            return self.eps * sum(self._gx(k) for k in names)
        return 2 * self.eps * sum(self.top[k] * self.gnorm[k] for k in names)

    def _gx(self, name: str) -> float:
        if name not in self.gx:
            product = self.grads[name] * self.base[name]
            self.gx[name] = float(np.sqrt(np.vdot(product, product)))
        return self.gx[name]

    def tolerance(self, numeric: Derivative, magnitude: float, placement: float = 0.0) -> float:
        return SAFETY * (numeric.error + 16 * self.eps * magnitude + placement) + 1e-300


# -- one slope, robust to kinks and domains ------------------------------------------------------


@dataclass(frozen=True)
class Slope:
    """A directional derivative along d (step built into d) with the step that gave it."""

    numeric: float  # d/dt loss(x + t d) at t = 0
    tolerance: float
    factor: float  # the step multiplier that gave it
    kink: OneSided | None  # one-sided slopes that still disagreed at the smallest step
    defined: bool  # False: no step kept the stencil where the loss is a number
    truncation: float = 0.0  # the parts of the estimate's error: the h^2 term removed (kinks crossed
    rounding: float = 0.0  # inside the stencil show here) and the rounding bound of the stencil
    sided: OneSided | None = None  # one-sided slopes whose jump, however small, curvature does not explain

    @property
    def rough(self) -> bool:
        """Truncation (or kinks crossed) dominates: a 16x smaller step would be at least twice as
        precise (truncation shrinks 256x, rounding grows 16x)."""
        return self.truncation > ROUGH * self.rounding

    @property
    def fine(self) -> bool:
        """Rounding dominates so far that the step is far below the one balancing the two: the h^2
        term measured is rounding noise itself, and a larger step is likely more precise."""
        return self.truncation * FINE < self.rounding


# Each evaluation of a float32 loss is rounded to a few eps of its size: the a-priori bound
# per evaluation, in eps |phi| (float64 keeps the wider bound its 100-seed record was made with).
ROUNDING = {np.dtype(np.float64): 16.0, np.dtype(np.float32): 4.0}
# Larger steps tried while they make the estimate more precise: rounding shrinks like 1/step,
# truncation grows.  float32 always (it is rounded so coarsely); float64 only when its estimate
# is far from balanced (Slope.fine), as in a loss that sums 10^5 terms to 10^6.
GROW = {np.dtype(np.float32): (4.0, 16.0, 64.0), np.dtype(np.float64): (16.0, 256.0)}
ROUGH, FINE = 64.0, 16.0
FINEST = 1 / 4096  # the smallest step multiplier a rough estimate is refined to


def slope(ctx: _Context, direction: Point, magnitude: float, placement: float | None = None,
          analytic: float | None = None, phi_of: Callable | None = None, refine: bool = False,
          start: float | None = None) -> Slope:
    """Richardson along factor * d for factor in LADDER, until the stencil neither leaves the
    domain (a NaN from our own step) nor crosses a kink.  Given the analytic slope, a
    disagreement is confirmed at the next smaller step: kinks crossed inside the stencil bias
    a difference quotient without always looking like a kink, and they vanish as the step
    shrinks, while a wrong gradient's error along d does not depend on the step.  If the
    smaller step agrees with the code and its estimate is inconsistent with the larger step's,
    the larger step was rough and the smaller one is believed; if the two estimates are
    consistent, the larger step (the more precise) keeps its verdict.

    The step is first grown (x4, x16, x64 for float32; x16, x256 for float64 far from balance)
    for as long as that makes the estimate more precise: rounding shrinks like 1/step,
    truncation grows.  With ``refine``, an agreement whose error is dominated by truncation
    (kinks crossed inside the stencil: a few ReLU units among 10^5 widen it 1000x) is not
    the verdict yet: the step shrinks while that makes the estimate more precise, so a crossed
    kink never widens the tolerance of the whole check, and the most precise estimate decides.
    ``start`` skips the search for a step: the step multiplier a probe along the same direction
    settled on (a block of it has the same rounding and no more kinks)."""
    phi_of = phi_of or (lambda factor: ctx.phi(direction, factor))
    placement = ctx.placement(direction) if placement is None else placement
    memo: dict[float, tuple[Slope | None, OneSided | None]] = {}

    def estimate(factor: float) -> tuple[Slope | None, OneSided | None]:
        if factor not in memo:
            d = richardson(phi_of(factor), 1.0, ctx.loss, ctx.eps, ROUNDING[ctx.dtype])
            if not d.finite:
                memo[factor] = (None, None)
            else:
                found = is_kink(dict(d.values), ctx.loss, 1.0, ctx.eps)
                if found is not None:
                    memo[factor] = (None, OneSided(found.forward / factor, found.backward / factor, found.jump / factor))
                else:
                    weak = is_kink(dict(d.values), ctx.loss, 1.0, ctx.eps, relative=0.0)
                    sided = weak and OneSided(weak.forward / factor, weak.backward / factor, weak.jump / factor)
                    memo[factor] = (Slope(d.value / factor, ctx.tolerance(d, magnitude * factor, placement) / factor,
                                          factor, None, True, (d.error - d.rounding) / factor, d.rounding / factor,
                                          sided), None)
        return memo[factor]

    def agrees(found: Slope) -> bool:
        return analytic is None or abs(analytic - found.numeric) <= found.tolerance

    top = _grown(ctx, estimate, refine) if start is None else start
    kink, defined, previous = None, False, None
    for factor in (top * f for f in LADDER):
        found, kinked = estimate(factor)
        if found is None:
            kink = kinked or kink
            defined = defined or kinked is not None
            continue
        defined = True
        if previous is None:
            if agrees(found):
                return _refined(found, estimate, agrees) if refine and analytic is not None else found
            previous = found  # a disagreement, to be confirmed at a smaller step
            continue
        consistent = abs(previous.numeric - found.numeric) <= previous.tolerance + found.tolerance
        if consistent:  # two estimates agree with each other: the larger step's is the more precise...
            smallest, kinked = estimate(top * LADDER[-1])
            sided = kinked or (smallest.sided if smallest is not None else None)
            if sided is None:
                return previous
            # ...unless the smallest step shows one-sided slopes apart: both were their average
            return Slope(float("nan"), float("inf"), top * LADDER[-1], sided, True)
        if agrees(found):
            return found  # the larger step was rough (kinks crossed), the smaller one is clean and agrees
        previous = found  # rough and still disagreeing: one step smaller again
    if previous is not None and kink is None and previous.sided is None:
        return previous
    # A kink at the point itself, seen once the step was small enough to cross nothing else; or,
    # where every step disagrees, one-sided slopes that differ by more than curvature explains,
    # however little: at a sum of kinks (several ReLU units at 0) the forward slope adds the
    # units moving up, the backward slope those moving down, relu'(0) = 0 neither, and their
    # jump can nearly cancel.  No verdict here: the caller checks beside the point.
    return Slope(float("nan"), float("inf"), top * LADDER[-1], kink or previous.sided, defined)


def _grown(ctx: _Context, estimate, refine: bool) -> float:
    """The step multiplier to start from: 1, or larger while that makes the estimate more precise
    (float64 only for the probes of large inputs, where one direction carries 10^6 coordinates:
    a single coordinate's partial is precise enough at the first step)."""
    float32 = ctx.dtype == np.float32
    if not (float32 or refine):
        return 1.0
    best, _ = estimate(1.0)
    top = 1.0
    for factor in GROW[ctx.dtype]:
        if best is None or not (float32 or best.fine):
            break
        grown, _ = estimate(factor)
        if grown is None or grown.tolerance >= best.tolerance / (1.0 if float32 else 2.0):
            break
        best, top = grown, factor
    return top


def _refined(found: Slope, estimate, agrees) -> Slope:
    """A rough agreement refined: 16x smaller steps while the best so far is rough, each kept if at
    least twice as precise (a step that still crosses kinks may not be; the next may cross none).
    The most precise estimate decides; a disagreement it shows is confirmed one step smaller again
    (a kink crossed by that step alone is no verdict)."""
    factor = found.factor
    while found.rough and factor / 16 >= FINEST * (1 - 1e-12):
        factor /= 16
        finer, kinked = estimate(factor)
        if finer is None:
            if kinked is None:
                break  # the loss is not a number there
            continue  # one kink close to the point: a smaller step may pass beside it
        if finer.tolerance * 2 <= found.tolerance:
            found = finer
        elif not finer.rough:
            break  # clean, and no more precise: rounding bounds it from here on
    if agrees(found):
        return found
    check, _ = estimate(found.factor / 16)
    if check is not None and agrees(check) and abs(check.numeric - found.numeric) > check.tolerance + found.tolerance:
        return check  # the refined step crossed a kink the smaller one does not
    return found


# -- small inputs: every coordinate ------------------------------------------------------------


def _every_coordinate(ctx: _Context) -> tuple[list[InputCheck], list[Finding]]:
    findings = []
    # the complex step is a second opinion here, not the per-coordinate method: it cannot see
    # kinks (complex relu and abs pick a branch silently), and Richardson's one-sided values can
    _complex_step_second_opinion(ctx, findings)
    total = sum(x.size for x in ctx.problem.point.values())
    done, checks = 0, []
    for name, x in ctx.problem.point.items():
        label = ctx.problem.label(name)
        analytic = np.array(ctx.grads[name], dtype=np.float64).reshape(-1)
        numeric, tol = np.empty(x.size), np.empty(x.size)
        kinks: dict[int, OneSided] = {}
        undefined: list[int] = []
        for i in range(x.size):
            numeric[i], tol[i], kink, analytic[i] = _partial(ctx, name, i)
            if kink is not None:
                kinks[i] = kink
            if np.isinf(tol[i]):
                undefined.append(i)
            done += 1
            if done % 200 == 0:
                ctx.report("every coordinate", done, total)
        diff = np.abs(analytic - numeric)
        bad = ~(diff <= tol)  # a NaN derivative is a failure, never a pass...
        bad[undefined] = False  # ...unless our own step could not stay where the loss is defined
        order = np.argsort(-np.where(np.isfinite(tol), diff / tol, -1.0))[:5]
        name_of = lambda i: f"{label}[{', '.join(map(str, np.unravel_index(int(i), x.shape)))}]"  # noqa: E731
        worst = tuple(Entry(name_of(i), float(analytic[i]), float(numeric[i])) for i in order if bad[i])
        rel = diff / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-300)
        usable = np.isfinite(tol)
        notes = []
        if kinks:
            first = min(kinks)
            notes.append(f"not differentiable here: one-sided slopes disagree at {len(kinks)} coordinate(s), first "
                         f"{name_of(first)} ({kinks[first].backward:.4g} and {kinks[first].forward:.4g}); "
                         f"checked {SHIFT:.0%} of its scale beside the kink")
        if undefined:
            notes.append(f"{len(undefined)} coordinate(s) not checked: the loss is not a number at any step "
                         f"around them, first {name_of(undefined[0])}")
        method = "every coordinate, Richardson"
        checks.append(InputCheck(label, not bad.any(), method, float(diff[usable].max(initial=0.0)),
                                 float(rel[usable].max(initial=0.0)),
                                 float(np.median(tol[usable])) if usable.any() else 0.0,
                                 x.size, worst, note="; ".join(notes)))
    return checks, findings


def _partial(ctx: _Context, name: str, i: int) -> tuple[float, float, OneSided | None, float]:
    """(numeric d loss / d x_i, its tolerance, the one-sided slopes if x_i sits at a kink, the
    analytic value it is to be compared with).  At a kink the comparison is made SHIFT steps
    beside it, with the gradient the code gives there."""
    step = ctx.h * ctx.coordinate_scale(name, i)
    if step == 0:  # a coordinate exactly 0 in a one-signed input cannot be: one-signed means nonzero
        step = ctx.h * ctx.spread[name]
    direction = {name: _unit(ctx.base[name], i, step)}
    g = float(ctx.grads[name].flat[i])
    placement = 2 * ctx.eps * abs(g) * abs(float(ctx.base[name].flat[i]))
    found = slope(ctx, direction, abs(g) * step, placement, g * step)
    if found.kink is None:
        return found.numeric / step, found.tolerance / step, None, g
    # a kink at the point itself: one-sided slopes are all the data there is at x_i, and no rule on
    # them holds for a sum of kinks; beside it the loss is differentiable and the code can be judged
    kink = OneSided(found.kink.forward / step, found.kink.backward / step, found.kink.jump / step)
    moved = {k: v for k, v in ctx.base.items()}
    moved[name] = ctx.base[name].copy()
    moved[name].flat[i] += SHIFT * step / ctx.h
    ev = ctx.oracle(moved)
    g_moved = float(np.asarray(ev.grads[name], dtype=np.float64).flat[i])
    beside = _Beside(ctx, moved, float(np.real(ev.loss)))
    found = slope(beside, direction, abs(g_moved) * step, placement, g_moved * step)
    if found.kink is not None or not found.defined:  # kinks all around: no verdict, said so
        return float("nan"), float("inf"), kink, g
    return found.numeric / step, found.tolerance / step, kink, g_moved


class _Block:
    """ctx.analytic for a block of one input's coordinates."""

    def __init__(self, ctx: _Context, name: str, g: np.ndarray):
        self.dtype, self.grads, self.gnorm = ctx.dtype, {name: g}, {name: float(np.sqrt(np.dot(g, g)))}

    analytic = _Context.analytic


class _Beside(_Context):
    """The context of a nearby point (for one coordinate's check beside a kink)."""

    def __init__(self, ctx: _Context, base: dict, loss: float):  # noqa: super not called: a view, not a new check
        self.__dict__.update(ctx.__dict__)
        self.base, self.loss, self.held = base, loss, None
        self.buffers, self.gx = {}, {}


def _unit(x: np.ndarray, i: int, step: float) -> np.ndarray:
    e = np.zeros_like(x)
    e.flat[i] = step
    return e


def _phi_complex(ctx: _Context, direction: Point):
    base = ctx.base

    def at(z):
        with warnings.catch_warnings():  # code that drops the imaginary part is caught by the comparison
            warnings.simplefilter("ignore")
            return ctx.oracle({k: base[k] + z * direction[k] if k in direction else base[k] for k in base}).loss
    return at


def _complex_step_second_opinion(ctx: _Context, findings: list[Finding]) -> bool:
    """Try the complex step once along a random direction and say whether it agrees with
    Richardson.  'Not complex-analytic' is said only when Richardson is trustworthy there (finite,
    no kink) and agrees with the code's gradient while the complex step does not."""
    direction = _random_direction(ctx)
    try:
        raw = _phi_complex(ctx, direction)(1j)
    except (ProblemError, TypeError, ValueError) as e:
        findings.append(Finding("complex-step", "info", f"complex step not usable ({str(e)[:80]}): central differences used"))
        return False
    if not np.iscomplexobj(raw) or np.imag(raw) == 0:
        findings.append(Finding("complex-step", "info", "complex step not usable: the loss comes back real (the code "
                                "drops imaginary parts, e.g. with float()); central differences used"))
        return False
    value = float(np.imag(raw))
    analytic, size = ctx.analytic(direction)
    reference = slope(ctx, direction, size)
    if reference.kink is not None or not reference.defined or reference.factor != 1.0:
        return False  # Richardson itself needed care here: no second opinion to give
    if np.isfinite(value) and abs(value - reference.numeric) <= reference.tolerance:
        findings.append(Finding("complex-step", "info", f"second opinion: the complex-step derivative along a random "
                                f"direction agrees with central differences to {abs(value - reference.numeric):.2g}"))
        return True
    if abs(analytic - reference.numeric) <= reference.tolerance:
        findings.append(Finding("complex-step", "info", "the complex step disagrees with central differences and "
                                "with the gradient, which agree: the code is not complex-analytic (abs, comparisons, "
                                "or real parts taken); central differences used"))
    else:
        findings.append(Finding("complex-step", "info", "no second opinion: the complex step disagrees with central "
                                "differences; central differences used"))
    return False


# -- large inputs: directions ------------------------------------------------------------------


def _random_direction(ctx: _Context, only: Mapping[str, np.ndarray] | None = None,
                      names: Sequence[str] | None = None, rank_one: bool = False) -> dict[str, np.ndarray]:
    """Uniform on [-1/2, 1/2] times each coordinate's step: continuous, so no two errors cancel
    exactly (Rademacher signs cancel a +1/-1 pair half the time); rows restricted by ``only``;
    inputs restricted by ``names``.  With rank_one, a large matrix input of mixed signs gets
    a b^T (verify/directions.py), with the same root-mean-square step."""
    out = {}
    for k, x in ctx.base.items():
        if names is not None and k not in names:
            continue
        if rank_one and only is None and x.ndim == 2 and x.size >= RELEASE and not ctx.signed[k]:
            a = ctx.rng.uniform(-1.0, 1.0, size=x.shape[0])
            b = ctx.rng.uniform(-1.0, 1.0, size=x.shape[1]) * (ctx.h * ctx.spread[k] * 0.5 * np.sqrt(3.0))
            out[k] = Outer(a, b)
            continue
        rows = None if only is None else only.get(k)
        if only is not None and k in only and rows is not None and x.ndim >= 1:
            d = np.zeros_like(x)
            d[rows] = ctx.rng.uniform(-0.5, 0.5, size=d[rows].shape)
        else:
            d = ctx.rng.uniform(-0.5, 0.5, size=x.shape)
        scale = ctx.scale(k)
        if np.ndim(scale):  # one-signed input: each coordinate's own step
            d *= scale
            d *= ctx.h
        else:
            d *= ctx.h * scale
        out[k] = d
    return out


def _weighted(ctx: _Context, direction: dict[str, np.ndarray], factor: float = 8.0) -> dict[str, np.ndarray]:
    """Weight the rows that carry signal: a random direction and a structure probe in one."""
    for k, rows in ctx.problem.signal_rows.items():
        if isinstance(direction[k], Outer):
            direction[k].weight_rows(rows, factor)
        else:
            direction[k][rows] *= factor
    return direction


def _signal_finding(ctx: _Context) -> list[Finding]:
    if not ctx.problem.signal_rows:
        return []
    return [Finding("probe", "info", f"structure-aware probe on the rows that carry signal: {_signal_text(ctx)}")]


def _signal_text(ctx: _Context) -> str:
    return ", ".join(f"{len(r)} rows of {ctx.problem.label(k)}" for k, r in ctx.problem.signal_rows.items())


def _probes(ctx: _Context, large: bool) -> list[tuple[str, dict[str, np.ndarray]]]:
    if large:
        what = "random direction" + (" (signal rows x8)" if ctx.problem.signal_rows else "")
        return [(what, _weighted(ctx, _random_direction(ctx, rank_one=True)))]
    probes = [("random direction", _random_direction(ctx)), ("random direction", _random_direction(ctx))]
    if ctx.problem.signal_rows:
        probes.append(("structure probe", _random_direction(ctx, ctx.problem.signal_rows)))
    return probes


@dataclass
class _Outcome:
    what: str
    direction: dict
    analytic: float
    slope: Slope

    @property
    def right(self) -> bool:
        if not self.slope.defined:
            return True  # no verdict: our own step leaves the domain everywhere (said in a finding)
        return abs(self.analytic - self.slope.numeric) <= self.slope.tolerance  # False for NaN

    @property
    def excess(self) -> float:
        value = abs(self.analytic - self.slope.numeric) / self.slope.tolerance
        return value if value == value else float("inf")


def _probe(ctx: _Context, what: str, direction: dict, known: tuple[float, float] | None = None) -> _Outcome:
    analytic, size = known or ctx.analytic(direction)
    return _Outcome(what, direction, analytic, slope(ctx, direction, size, analytic=analytic, refine=True))


def _unresolved(ctx: _Context, outcome: _Outcome) -> list[str]:
    """Inputs whose error this probe could not see: its tolerance exceeds the resolution of
    their own part of g.d (an input of 1,000 coordinates beside one of 10^6, a kink elsewhere)."""
    if len(outcome.direction) < 2:
        return []
    resolution = RESOLUTION[ctx.dtype]
    out = []
    for k, d in outcome.direction.items():
        own = ctx.gnorm[k] * float(np.sqrt(dirs.square(d)))
        if outcome.slope.tolerance > resolution * own:
            out.append(k)
    return out


def _directional(ctx: _Context, budget: int, seconds: float, large: bool,
                 repeat: Callable | None = None) -> tuple[list[InputCheck], list[Finding]]:
    findings: list[Finding] = []
    probes = _probes(ctx, large)
    known = [ctx.analytic(direction) for _, direction in probes]
    ctx.release()
    if repeat is not None:
        findings += repeat(probes, known)
    outcomes: list[_Outcome] = []
    for number, ((what, direction), analytic) in enumerate(zip(probes, known), 1):
        ctx.report(what, number, len(probes))
        outcome = _probe(ctx, what, direction, analytic)
        if outcome.slope.kink is not None and not ctx.shifted:
            kink = outcome.slope.kink
            findings.append(Finding("kink", "warning", f"not differentiable here: along the {what} the one-sided "
                                    f"slopes are {kink.backward:.6g} and {kink.forward:.6g} even at a step "
                                    f"{1 / LADDER[-1]:g} times smaller, so a kink sits at the point itself; the "
                                    f"gradient is checked up to {SHIFT:.0%} of each input's scale beside it, where it "
                                    "is defined"))
            ctx.shift({k: (2 * SHIFT / ctx.h) * d for k, d in _random_direction(ctx).items()})
            outcome = _probe(ctx, what, direction)
        outcomes.append(outcome)
        if not outcome.slope.defined:
            findings.append(Finding("domain", "warning", f"no verdict along the {what}: the loss is not a number at "
                                    "any step tried around the point (our step, not the code, left its domain)"))
        # an input the probe cannot resolve gets a probe of its own
        for name in _unresolved(ctx, outcome) if outcome.right else []:
            own = _probe(ctx, f"{what} on {ctx.problem.label(name)} alone",
                         _random_direction(ctx, ctx.problem.signal_rows if what == "structure probe" else None, [name]))
            outcomes.append(own)
    names = [o.what for o in outcomes if " alone" not in o.what]
    method = ", ".join(f"{names.count(n)} {n}s" if names.count(n) > 1 else n for n in dict.fromkeys(names))
    alone = sum(" alone" in o.what for o in outcomes)
    method += (f", {alone} input(s) probed alone" if alone else "") + ", Richardson"
    findings += _signal_finding(ctx)
    for o in outcomes:
        if o.slope.kink is not None:
            findings.append(Finding("kink", "warning", f"not differentiable here: along the {o.what} the one-sided "
                                    f"slopes are {o.slope.kink.backward:.6g} and {o.slope.kink.forward:.6g} at every "
                                    "step tried, beside the point too: no verdict along it"))
    failing = [o for o in outcomes if not o.right and o.slope.kink is None]
    note = "not differentiable here" if any(f.kind == "kink" for f in findings) else ""
    if not failing:
        return _joint_pass(ctx, outcomes, method, note), findings
    worst = max(failing, key=lambda o: o.excess)
    ctx.report("localising", 0, 1)
    checks, search = _localised(ctx, worst.direction, method + "; localised by group testing", budget, seconds,
                                worst.slope.factor)
    if not all(c.passed for c in checks):
        taylor = taylor_test(ctx.phi(worst.direction), ctx.loss, worst.analytic, 8.0)
        findings.append(Finding("taylor", "info",
                                f"Taylor remainder along the {worst.what} shrinks like t^{taylor.order:.2f} "
                                + ("(t^2 for a right gradient: a second, step-free sign that it is wrong)"
                                   if not taylor.says_correct else
                                   "(t^2: the error along it is too small for the step-free Taylor test to see)")))
    if search.note:
        findings.append(Finding("search", "info", search.note))
    return checks, findings


def _norm(direction: Point) -> float:
    return float(np.sqrt(sum(dirs.square(d) for d in direction.values()))) or 1.0


def _joint_pass(ctx, outcomes: list[_Outcome], method, note="") -> list[InputCheck]:
    """Errors along a unit direction (gradient units): |g.d - numeric| / |d|, of the probe that
    came nearest its tolerance, beside that probe's tolerance."""
    judged = [o for o in outcomes if o.slope.defined and o.slope.kink is None]
    if not judged:  # no verdict anywhere: nothing measured
        return [InputCheck(ctx.problem.label(k), True, method, 0.0, 0.0, 0.0, x.size, note=note)
                for k, x in ctx.problem.point.items()]
    worst = max(judged, key=lambda o: o.excess)
    norm = _norm(worst.direction)
    abs_err = abs(worst.analytic - worst.slope.numeric) / norm
    rel_err = abs(worst.analytic - worst.slope.numeric) / max(abs(worst.analytic), abs(worst.slope.numeric), 1e-300)
    return [InputCheck(ctx.problem.label(k), True, method, abs_err, rel_err, worst.slope.tolerance / norm, x.size,
                       note=note) for k, x in ctx.problem.point.items()]


def _localised(ctx: _Context, direction: Point, method: str, budget: int, seconds: float,
               step: float = 1.0) -> tuple[list[InputCheck], Search]:
    def test(name, start, stop):
        """The block's slope with the ladder (kinks crossed in a block are no wrong entry), as a
        Derivative whose error is the tolerance over SAFETY."""
        g, d = ctx.grads[name].reshape(-1)[start:stop], direction[name].reshape(-1)[start:stop]
        analytic, size = _Block(ctx, name, g).analytic({name: d})
        top = float(np.max(np.abs(ctx.base[name].reshape(-1)[start:stop]))) if stop > start else 0.0
        placement = 2 * ctx.eps * top * float(np.sqrt(np.dot(g, g)))
        # a disagreement is confirmed at a smaller step for whole inputs and single entries, the
        # verdicts; blocks between them only steer the search
        confirm = analytic if stop - start == 1 or (start, stop) == (0, ctx.base[name].size) else None
        found = slope(ctx, {name: direction[name]}, size, placement, confirm,
                      lambda factor: ctx.block_phi(name, start, stop, direction, factor), start=step)
        if not found.defined or found.kink is not None:  # no verdict on this block: never called wrong
            return Derivative(analytic, float("inf"), 3)
        return Derivative(found.numeric, found.tolerance / SAFETY, 3)

    roots, checks = [], []
    names = [k for k in ctx.base if k in direction]
    for name in names:  # per input: one test each (the last could be had by subtraction, but clarity wins)
        numeric = test(name, 0, ctx.base[name].size)
        analytic, _ = ctx.analytic({name: direction[name]})
        roots.append(Tested(name, 0, ctx.base[name].size, analytic, numeric.value, numeric.error, 0))
    labels = {k: ctx.problem.label(k) for k in ctx.base}
    failing = [r for r in roots if r.excess > SAFETY]
    found, blocks, search = localise(failing, test, ctx.grads, direction, labels, SAFETY, budget,
                                     time.perf_counter() + seconds)
    for name in ctx.base:
        root = next((r for r in roots if r.name == name), None)
        if root is None:  # not in the failing direction: it passed its own probe
            checks.append(InputCheck(labels[name], True, method, 0.0, 0.0, 0.0, ctx.base[name].size))
            continue
        failed = root.excess > SAFETY
        entries = found.get(root.name, [])
        diffs = [abs(e.analytic - e.numeric) for e in entries]
        rels = [abs(e.analytic - e.numeric) / max(abs(e.analytic), abs(e.numeric), 1e-300) for e in entries]
        abs_err = max(diffs) if diffs else abs(root.analytic - root.numeric) / _norm({name: direction[name]})
        rel_err = max(rels) if rels else abs(root.analytic - root.numeric) / max(abs(root.analytic), abs(root.numeric), 1e-300)
        checks.append(InputCheck(labels[root.name], not failed, method, abs_err, rel_err,
                                 root.error * SAFETY / _norm({name: direction[name]}), ctx.base[root.name].size,
                                 tuple(entries[:5]), tuple(blocks.get(root.name, [])[:8])))
    return checks, search
