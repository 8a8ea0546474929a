"""check_gradient: is a function's gradient the derivative of its loss?

Small inputs: every coordinate, central differences with Richardson extrapolation (or
the complex step, once it has been shown to agree).  Large inputs: a seeded random
direction over every coordinate plus a structure-aware probe on the rows that carry
signal, each a Richardson directional derivative.  The tolerance is a fixed multiple of
each estimate's own error estimate, so it never loosens with size.  A failing direction
is confirmed by the step-free Taylor test, excused as a kink when one-sided slopes
disagree, and localised by group testing.
"""
from __future__ import annotations

import platform
import time
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from . import hygiene
from .finite import EPS, STEP, Derivative, OneSided, complex_step, is_kink, richardson, taylor_test
from .localise import Tested, localise
from .problem import Evaluation, Point, Problem, ProblemError, from_callable
from .results import Entry, Finding, GradientCheck, InputCheck

SAFETY = 8.0  # tolerance = SAFETY x (estimated finite-difference error + rounding of g.d)
FULL_LIMIT = 2000  # up to this many coordinates, check every one
LARGE = 1_000_000  # from this many, one combined direction keeps a passing check near 5 calls
Progress = Callable[[str, int, int], None]


class Oracle:
    """Calls the problem's function, counts calls, and turns its exceptions into ProblemError."""

    def __init__(self, problem: Problem):
        self.problem, self.calls = problem, 0

    def __call__(self, x: Point) -> Evaluation:
        self.calls += 1
        try:
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
    gradients.  Options: seed, full_limit, localise_budget, progress."""
    problem = from_callable(fn, inputs, wrt=wrt, grad_fn=grad_fn, fixed=fixed, name=name, labels=labels,
                            signal_rows=signal_rows)
    return check_problem(problem, **options)


def check_problem(problem: Problem, *, seed: int = 0, full_limit: int = FULL_LIMIT, localise_budget: int = 80,
                  progress: Progress | None = None) -> GradientCheck:
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

        # A second call at the same point: noise in the loss would otherwise be absorbed into the
        # finite-difference error estimate.  The first call showed the function leaves its
        # inputs alone, so both get the originals (same arrays, same alignment, same rounding).
        findings += hygiene.nondeterminism(first, oracle(problem.point), problem)
        dtype = hygiene.gradient_dtype(first, problem)
        grads = {k: np.asarray(first.grads[k], dtype=np.float64) for k in problem.point}
        context = _Context(problem, oracle, grads, float(np.real(first.loss)), dtype, np.random.default_rng(seed), report)
        if size <= full_limit:
            checks, more = _every_coordinate(context)
        else:
            checks, more = _directional(context, localise_budget,
                                        large=size >= LARGE)
        findings += more
    except ProblemError as e:
        return _finish(problem, (), [Finding("error", "error", str(e))], oracle, start, 0.0, "float64", meta)
    return _finish(problem, checks, findings, oracle, start, STEP[dtype], str(dtype), meta)


def _finish(problem, checks, findings, oracle, start, step, dtype, meta) -> GradientCheck:
    passed = bool(checks) and all(c.passed for c in checks) and not any(f.severity == "error" for f in findings)
    return GradientCheck(problem.name, passed, tuple(checks), tuple(findings), time.perf_counter() - start,
                         oracle.calls, meta["seed"], step, dtype, meta["versions"])


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("gradproof")
    except PackageNotFoundError:
        ours = "unknown"
    return {"gradproof": ours, "numpy": np.__version__, "python": platform.python_version()}


class _Context:
    def __init__(self, problem, oracle, grads, loss, dtype, rng, report):
        self.problem, self.oracle, self.grads, self.loss = problem, oracle, grads, loss
        self.dtype, self.rng, self.report = dtype, rng, report
        self.eps, self.h = EPS[dtype], STEP[dtype]
        # perturb each input relative to its own size, so one step fits inputs of any scale
        self.scale = {k: float(np.sqrt(np.vdot(x, x) / max(x.size, 1))) or 1.0 for k, x in problem.point.items()}
        self.buffers: dict[str, np.ndarray] = {}
        self.held: tuple[int, float] | None = None

    def phi(self, direction: Point) -> Callable[[float], float]:
        """t -> loss(x + t d).  At large sizes forming x + t d costs as much as the call being
        checked, so it goes into buffers reused across calls, in one pass at t = +-1."""
        base = self.problem.point
        for k in direction:
            if k not in self.buffers:
                self.buffers[k] = np.empty_like(base[k])

        def at(t):
            for k, d in direction.items():
                buf = self.buffers[k]
                if t == 1:
                    np.add(base[k], d, out=buf)
                elif t == 2 and self.held == (id(direction), 1):  # x + 2d is x + d plus d: one pass
                    buf += d
                elif t == -1:
                    np.subtract(base[k], d, out=buf)
                else:
                    np.multiply(d, t, out=buf)
                    buf += base[k]
            self.held = (id(direction), t)  # the buffers are shared by every phi: say what they hold
            return self.oracle.loss({k: self.buffers[k] if k in direction else base[k] for k in base})
        return at

    def block_phi(self, name: str, start: int, stop: int, direction: Point) -> Callable[[float], float]:
        """t -> loss(x + t d_B) for d restricted to flat indices [start, stop) of one input:
        one copy of x and a small update, not two passes over the whole array."""
        base = self.problem.point
        buf = self.buffers.setdefault(name, np.empty_like(base[name]))
        d = direction[name].reshape(-1)[start:stop]

        def at(t):
            self.held = None
            np.copyto(buf, base[name])
            buf.reshape(-1)[start:stop] += t * d
            return self.oracle.loss({k: buf if k == name else base[k] for k in base})
        return at

    def derivative(self, direction: Point, step: float | None = None) -> Derivative:
        """Along a direction that already has the step in it (step 1), or along d with step h."""
        return richardson(self.phi(direction), self.h if step is None else step, self.loss, self.eps)

    def analytic(self, direction: Point) -> tuple[float, float]:
        """(g.d, sum |g d|): the second bounds the rounding error of the first."""
        dot = sum(float(np.vdot(self.grads[k], d)) for k, d in direction.items())
        # Cauchy-Schwarz bound on sum |g d|: two cheap passes instead of a temporary array
        size = sum(float(np.sqrt(np.vdot(self.grads[k], self.grads[k]) * np.vdot(d, d))) for k, d in direction.items())
        return dot, size

    def tolerance(self, numeric: Derivative, magnitude: float) -> float:
        return SAFETY * (numeric.error + 16 * self.eps * magnitude) + 1e-300


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
        analytic = np.asarray(ctx.grads[name], dtype=np.float64).reshape(-1)
        numeric, tol = np.empty(x.size), np.empty(x.size)
        kinks: dict[int, OneSided] = {}
        for i in range(x.size):
            numeric[i], tol[i], kink = _partial(ctx, name, i)
            if kink is not None:
                kinks[i] = kink
            done += 1
            if done % 200 == 0:
                ctx.report("every coordinate", done, total)
        bad = ~(np.abs(analytic - numeric) <= tol)  # a NaN derivative is a failure, never a pass
        for i, kink in kinks.items():  # at a kink, any slope between the one-sided ones is right
            bad[i] = not _between(analytic[i], kink, tol[i])
        diff = np.abs(analytic - numeric)
        order = np.argsort(-(diff / tol))[:5]
        name_of = lambda i: f"{label}[{', '.join(map(str, np.unravel_index(int(i), x.shape)))}]"  # noqa: E731
        worst = tuple(Entry(name_of(i), float(analytic[i]), float(numeric[i])) for i in order if bad[i])
        rel = diff / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-300)
        smooth = np.array([i not in kinks for i in range(x.size)], dtype=bool)
        note = ""
        if kinks:
            first = min(kinks)
            note = (f"not differentiable here: one-sided slopes disagree at {len(kinks)} coordinate(s), first "
                    f"{name_of(first)} ({kinks[first].backward:.4g} and {kinks[first].forward:.4g})")
        method = "every coordinate, Richardson"
        checks.append(InputCheck(label, not bad.any(), method, float(diff[smooth].max(initial=0.0)),
                                 float(rel[smooth].max(initial=0.0)), float(np.median(tol)) if tol.size else 0.0,
                                 x.size, worst, note=note))
    return checks, findings


def _between(slope: float, kink: OneSided, tol: float) -> bool:
    low, high = sorted((kink.forward, kink.backward))
    return low - tol <= slope <= high + tol


def _partial(ctx: _Context, name: str, i: int) -> tuple[float, float, OneSided | None]:
    """(numeric d loss / d x_i, its tolerance, the one-sided slopes if x_i sits at a kink)."""
    scale = ctx.scale[name]
    direction = {name: _unit(ctx.problem.point[name], i, scale)}
    g = float(ctx.grads[name].flat[i]) * scale
    d = ctx.derivative(direction)
    kink = is_kink(dict(d.values), ctx.loss, ctx.h, ctx.eps)
    if kink is not None:
        kink = OneSided(kink.forward / scale, kink.backward / scale, kink.jump / scale)
    return d.value / scale, ctx.tolerance(d, abs(g)) / scale, kink


def _unit(x: np.ndarray, i: int, scale: float) -> np.ndarray:
    e = np.zeros_like(x)
    e.flat[i] = scale
    return e


def _phi_complex(ctx: _Context, direction: Point):
    base = ctx.problem.point

    def at(z):
        with warnings.catch_warnings():  # code that drops the imaginary part is caught by the comparison
            warnings.simplefilter("ignore")
            return ctx.oracle({k: base[k] + z * direction[k] if k in direction else base[k] for k in base}).loss
    return at


def _complex_step_second_opinion(ctx: _Context, findings: list[Finding]) -> bool:
    """Try the complex step once along a random direction and say whether it agrees with
    Richardson; code that drops imaginary parts or is not analytic falls back cleanly."""
    direction = _random_direction(ctx)
    try:
        value = complex_step(_phi_complex(ctx, direction), 1.0)
    except (ProblemError, TypeError, ValueError) as e:
        findings.append(Finding("complex-step", "info", f"complex step not usable ({str(e)[:80]}): central differences used"))
        return False
    reference = ctx.derivative(direction, step=1.0)
    _, size = ctx.analytic(direction)
    if not np.isfinite(value) or not abs(value - reference.value) <= ctx.tolerance(reference, size):
        findings.append(Finding("complex-step", "info", "complex step disagrees with central differences "
                                "(the code is not complex-analytic, e.g. abs or comparisons): central differences used"))
        return False
    findings.append(Finding("complex-step", "info", f"second opinion: the complex-step derivative along a random "
                            f"direction agrees with central differences to {abs(value - reference.value):.2g}"))
    return True


# -- large inputs: directions ------------------------------------------------------------------


def _random_direction(ctx: _Context, only: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Uniform on [-1/2, 1/2] times each input's scale: continuous, so no two errors cancel
    exactly (Rademacher signs cancel a +1/-1 pair half the time); rows restricted by ``only``."""
    out = {}
    for k, x in ctx.problem.point.items():
        rows = None if only is None else only.get(k)
        half = 0.5 * ctx.scale[k] * ctx.h  # the step is part of the direction: phi is evaluated at t = 1, -1, 2
        if only is not None and k in only and rows is not None and x.ndim >= 1:
            d = np.zeros_like(x)
            d[rows] = ctx.rng.uniform(-half, half, size=d[rows].shape)
        else:
            d = ctx.rng.uniform(-half, half, size=x.shape)
        out[k] = d
    return out


def _weighted(ctx: _Context, direction: dict[str, np.ndarray], factor: float = 8.0) -> dict[str, np.ndarray]:
    """Weight the rows that carry signal: a random direction and a structure probe in one."""
    for k, rows in ctx.problem.signal_rows.items():
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
        return [(what, _weighted(ctx, _random_direction(ctx)))]
    probes = [("random direction", _random_direction(ctx)), ("random direction", _random_direction(ctx))]
    if ctx.problem.signal_rows:
        probes.append(("structure probe", _random_direction(ctx, ctx.problem.signal_rows)))
    return probes


def _directional(ctx: _Context, budget: int, large: bool) -> tuple[list[InputCheck], list[Finding]]:
    findings: list[Finding] = []
    probes = _probes(ctx, large)
    outcomes, failing, kinked = [], [], False
    for number, (what, direction) in enumerate(probes, 1):
        ctx.report(what, number, len(probes))
        numeric = ctx.derivative(direction, step=1.0)
        analytic, size = ctx.analytic(direction)
        outcome = (what, direction, numeric, analytic, ctx.tolerance(numeric, size))
        outcomes.append(outcome)
        kink = is_kink(dict(numeric.values), ctx.loss, 1.0, ctx.eps)
        if kink is None:
            right = abs(analytic - numeric.value) <= outcome[4]  # False for NaN, too
        else:  # at a kink, any slope between the one-sided ones is right
            kinked, right = True, _between(analytic, kink, outcome[4])
            findings.append(Finding("kink", "warning" if right else "error",
                                    f"not differentiable here: along the {what} the one-sided slopes are "
                                    f"{kink.backward:.6g} and {kink.forward:.6g}; the analytic slope {analytic:.6g} "
                                    + ("lies between them" if right else "lies outside them: the gradient is wrong")))
        if not right:
            failing.append(outcome)
    names = [what for what, *_ in outcomes]
    method = ", ".join(f"{names.count(n)} {n}s" if names.count(n) > 1 else n for n in dict.fromkeys(names)) + ", Richardson"
    findings += _signal_finding(ctx)
    if not failing:
        return _joint_pass(ctx, outcomes, method, note="not differentiable here" if kinked else ""), findings
    what, direction, numeric, analytic, tol = max(failing, key=lambda o: abs(o[3] - o[2].value) / o[4])
    taylor = taylor_test(ctx.phi(direction), ctx.loss, analytic, 8.0)
    findings.append(Finding("taylor", "info" if not taylor.says_correct else "warning",
                            f"Taylor remainder along the {what} shrinks like t^{taylor.order:.2f} "
                            + ("(t^1: the gradient is wrong)" if not taylor.says_correct else
                               "(t^2 expected for a right gradient: finite differences and the Taylor test disagree)")))
    ctx.report("localising", 0, 1)
    return _localised(ctx, direction, method + "; localised by group testing", budget), findings


def _norm(direction: Point) -> float:
    return float(np.sqrt(sum(np.vdot(d, d) for d in direction.values()))) or 1.0


def _joint_pass(ctx, outcomes, method, note="") -> list[InputCheck]:
    """Errors along a unit direction (gradient units): |g.d - numeric| / |d|."""
    abs_err = max(abs(a - n.value) / _norm(d) for _, d, n, a, _ in outcomes)
    rel_err = max(abs(a - n.value) / max(abs(a), abs(n.value), 1e-300) for _, _, n, a, _ in outcomes)
    tol = min(t / _norm(d) for _, d, _, _, t in outcomes)
    return [InputCheck(ctx.problem.label(k), True, method, abs_err, rel_err, tol, x.size, note=note)
            for k, x in ctx.problem.point.items()]


def _localised(ctx: _Context, direction: Point, method: str, budget: int) -> list[InputCheck]:
    def test(name, start, stop):
        return richardson(ctx.block_phi(name, start, stop, direction), 1.0, ctx.loss, ctx.eps)

    roots, checks = [], []
    names = list(ctx.problem.point)
    for name in names:  # per input: one test each (the last could be had by subtraction, but clarity wins)
        numeric = test(name, 0, ctx.problem.point[name].size)
        analytic, size = ctx.analytic({name: direction[name]})
        roots.append(Tested(name, 0, ctx.problem.point[name].size, analytic, numeric.value,
                            ctx.tolerance(numeric, size) / SAFETY, 0))
    labels = {k: ctx.problem.label(k) for k in names}
    found, blocks = {}, {}
    failing = [r for r in roots if r.excess > SAFETY]
    for root in failing:  # each wrong input gets its share, so every one is localised
        more_found, more_blocks = localise([root], test, ctx.grads, direction, labels, SAFETY,
                                           max(budget // len(failing), 24))
        found.update(more_found)
        blocks.update(more_blocks)
    for root in roots:
        failed = root.excess > SAFETY
        entries = found.get(root.name, [])
        diffs = [abs(e.analytic - e.numeric) for e in entries]
        rels = [abs(e.analytic - e.numeric) / max(abs(e.analytic), abs(e.numeric), 1e-300) for e in entries]
        abs_err = max(diffs) if diffs else abs(root.analytic - root.numeric)
        rel_err = max(rels) if rels else abs(root.analytic - root.numeric) / max(abs(root.analytic), abs(root.numeric), 1e-300)
        checks.append(InputCheck(labels[root.name], not failed, method,
                                 abs_err, rel_err, root.error * SAFETY, ctx.problem.point[root.name].size,
                                 tuple(entries[:5]), tuple(blocks.get(root.name, [])[:8])))
    return checks
