"""Run jax.test_util.check_grads on a gradproof Problem, as a point of comparison.

The Problem becomes a jax.custom_vjp function: its primal is the user's loss and its VJP the
user's own (possibly wrong) gradient, both reached through jax.pure_callback, so JAX checks
exactly what gradproof checks.  check_grads(..., order=1, modes=("rev",)) compares the VJP
along one random cotangent with a central difference along one random tangent (both from
np.random.RandomState(0), EPS 1e-4 in float64) with its per-dtype tolerance (jax#5405: no
localisation).  jax is imported lazily and is never a dependency of gradproof.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .problem import Problem


@dataclass(frozen=True)
class JaxVerdict:
    available: bool
    caught: bool | None  # check_grads raised AssertionError; None if it could not run
    seconds: float | None
    message: str


def jax_available() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def jax_check_grads(problem: Problem) -> JaxVerdict:
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        from jax.test_util import check_grads
    except ImportError:
        return JaxVerdict(False, None, None, "jax not installed")
    names = tuple(problem.point)

    def evaluate(arrays):
        return problem.evaluate({n: np.asarray(a, dtype=np.float64) for n, a in zip(names, arrays)})

    def loss_np(*arrays):
        return np.asarray(np.real(evaluate(arrays).loss), dtype=np.float64)

    def grads_np(*arrays):
        ev = evaluate(arrays)
        return tuple(np.asarray(ev.grads[n], dtype=np.float64).reshape(np.shape(a)) for n, a in zip(names, arrays))

    @jax.custom_vjp
    def f(args):
        return jax.pure_callback(loss_np, jax.ShapeDtypeStruct((), jnp.float64), *args)

    def forward(args):
        return f(args), args

    def backward(args, cotangent):
        shapes = tuple(jax.ShapeDtypeStruct(a.shape, jnp.float64) for a in args)
        grads = jax.pure_callback(grads_np, shapes, *args)
        return (tuple(cotangent * g for g in grads),)

    f.defvjp(forward, backward)
    point = tuple(jnp.asarray(problem.point[n]) for n in names)
    start = time.perf_counter()
    try:
        check_grads(f, (point,), order=1, modes=("rev",))
    except AssertionError:
        return JaxVerdict(True, True, time.perf_counter() - start, "check_grads failed")
    except Exception as e:  # noqa: BLE001 - the function under test raised inside the callback
        return JaxVerdict(True, None, time.perf_counter() - start, f"{type(e).__name__}: {str(e)[:100]}")
    return JaxVerdict(True, False, time.perf_counter() - start, "check_grads passed")
