"""Run torch.autograd.gradcheck in fast mode on a gradproof Problem, as a point of comparison.

The Problem is wrapped as a torch.autograd.Function whose forward is the user's loss and whose
backward returns the user's own (possibly wrong) gradient, so torch checks exactly what gradproof
checks: the analytic gradient against finite differences of the loss.

Fast mode (pytorch#53876) does not build the Jacobian.  For each input x_i it draws one random
direction u_i (torch.rand: non-negative entries, scaled to unit norm; v likewise for the output,
here a scalar so v = 1) and compares two numbers:

    analytic   (v^T J) u_i      -- the gradient we return, dotted with u_i
    numerical  v^T (J u_i)      -- (f(x + eps u_i) - f(x - eps u_i)) / (2 eps), eps = 1e-6

with |a - n| <= atol * sum(u_i) * sum(v) + rtol * |n| (atol 1e-5, rtol 1e-3, torch's defaults).
One direction per input means a gradient error e is seen only through u_i . e; because u_i is
non-negative with unit norm, sum(u_i) ~ 0.87 sqrt(n_i) and the allowance grows with the input's
size, while an error confined to a few entries is diluted by their u weights ~ 1/sqrt(n_i).

The vectors come from a fresh torch.Generator() created inside gradcheck (fixed default seed), so
torch.manual_seed, which we still call, does not change them: the verdict is deterministic.

When the fast check fails, gradcheck recomputes the full numerical and analytic Jacobians in slow
mode just to build its error message (two forward calls per input entry: ~10^6 calls at
|V| = 5000, N = 100).  It does this even with raise_exception=False, where the message is thrown
away.  Unless explain_failure=True we replace that message builder for the duration of the call;
the verdict is decided before it runs and is unchanged, only the time of a failure is.

torch is imported lazily and is never a dependency of gradproof.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from .problem import Problem


@dataclass(frozen=True)
class TorchVerdict:
    available: bool  # torch could be imported
    caught: bool | None  # gradcheck returned False; None if it raised
    seconds: float | None  # wall time of the gradcheck call
    message: str


def _as_function(torch, problem: Problem):
    names = tuple(problem.point)

    class ProblemFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *tensors):
            point = {n: t.detach().numpy().copy() for n, t in zip(names, tensors)}
            evaluation = problem.evaluate(point)
            ctx.grads = tuple(torch.from_numpy(np.asarray(evaluation.grads[n], dtype=np.float64).copy())
                              for n in names)
            return torch.tensor(evaluation.loss, dtype=torch.float64)

        @staticmethod
        def backward(ctx, grad_output):
            return tuple(grad_output * g for g in ctx.grads)

    return ProblemFunction.apply


def torch_fast_gradcheck(problem: Problem, seed: int = 0, *, explain_failure: bool = False) -> TorchVerdict:
    """torch.autograd.gradcheck(fast_mode=True) with torch's default eps, atol and rtol."""
    try:
        import torch
        import torch.autograd.gradcheck  # noqa: F401 - makes the module available in sys.modules
    except ImportError:
        return TorchVerdict(False, None, None, "torch not installed")

    module = sys.modules["torch.autograd.gradcheck"]
    original = getattr(module, "_run_slow_mode_and_get_error", None)  # private; may be renamed one day
    torch.manual_seed(seed)
    fn = _as_function(torch, problem)
    inputs = tuple(torch.tensor(problem.point[n], dtype=torch.float64, requires_grad=True) for n in problem.point)
    start = time.perf_counter()
    try:
        if original is not None and not explain_failure:
            module._run_slow_mode_and_get_error = lambda *args, **kwargs: " (slow-mode recomputation skipped)"
        passed = torch.autograd.gradcheck(fn, inputs, fast_mode=True, raise_exception=False)
    except Exception as exc:  # noqa: BLE001 - whatever the function under test raised
        first = (str(exc).strip().splitlines() or [""])[0]
        return TorchVerdict(True, None, time.perf_counter() - start, f"{type(exc).__name__}: {first}")
    finally:
        if original is not None:
            module._run_slow_mode_and_get_error = original
    seconds = time.perf_counter() - start
    return TorchVerdict(True, not passed, seconds,
                        "fast gradcheck passed" if passed else "fast gradcheck failed: Jacobian mismatch")
