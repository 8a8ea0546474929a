"""A gradient-checking problem: a point, and a function giving the loss and its gradients.

Every way of calling user code (a generic callable, a loss plus a gradient function, the
course signatures) is turned into a Problem, and the checker only ever sees Problems.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

Point = Mapping[str, np.ndarray]


class ProblemError(Exception):
    """The function cannot be checked at all (it raised, or returned the wrong structure)."""


class InterfaceError(ProblemError):
    """What the function returns does not fit the interface its spec declares: a usage error."""


@dataclass(frozen=True)
class Evaluation:
    loss: float | complex
    grads: Mapping[str, np.ndarray]  # keyed by input name, raw as returned


@dataclass(frozen=True)
class Problem:
    name: str
    point: Point  # the inputs to differentiate with respect to (float64 copies)
    evaluate: Callable[[Point], Evaluation]
    labels: Mapping[str, str] = field(default_factory=dict)  # input -> how its gradient is called
    signal_rows: Mapping[str, np.ndarray] = field(default_factory=dict)  # rows that carry signal

    def label(self, name: str) -> str:
        return self.labels.get(name, f"grad[{name}]")


def as_point(inputs: Mapping[str, object]) -> dict[str, np.ndarray]:
    return {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}


def own_point(inputs: Mapping[str, object]) -> dict[str, np.ndarray]:
    """as_point for arrays the caller has just made and gives away: no copy where none is needed."""
    return {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}


def copy_point(point: Point) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in point.items()}


def from_callable(fn: Callable, inputs: Mapping[str, object], *, wrt: Sequence[str] | None = None,
                  grad_fn: Callable | None = None, fixed: Mapping[str, object] | None = None,
                  name: str | None = None, labels: Mapping[str, str] | None = None,
                  signal_rows: Mapping[str, Sequence[int]] | None = None) -> Problem:
    """fn(**inputs, **fixed) returns (loss, grad_1, ..., grad_k) in the order of wrt, or a
    (loss, {name: grad}) pair; with grad_fn, fn returns the loss and grad_fn the gradients."""
    point = as_point(inputs)
    names = tuple(wrt or point)
    # inputs outside wrt are still arguments: they are held fixed
    fixed = {**dict(fixed or {}), **{k: v for k, v in point.items() if k not in names}}

    def evaluate(x: Point) -> Evaluation:
        args = {**fixed, **x}
        out = fn(**args)
        if grad_fn is not None:
            return Evaluation(_scalar(out), _grads(grad_fn(**{**fixed, **copy_point(x)}), names))
        if not isinstance(out, (tuple, list)) or len(out) < 2:
            raise ProblemError("the function must return (loss, gradients...) or be given grad_fn=")
        loss, rest = out[0], out[1:]
        return Evaluation(_scalar(loss), _grads(rest[0] if len(rest) == 1 and isinstance(rest[0], Mapping) else rest, names))

    return Problem(name or getattr(fn, "__name__", "function"), {k: point[k] for k in names}, evaluate,
                   dict(labels or {}), {k: np.asarray(v, dtype=np.intp) for k, v in (signal_rows or {}).items()})


def _scalar(loss):
    value = np.asarray(loss)
    if value.size != 1:
        raise ProblemError(f"the loss must be a scalar, got an array of shape {value.shape}")
    return value.reshape(()).item()


def _grads(out, names) -> dict[str, np.ndarray]:
    if isinstance(out, Mapping):
        missing = [n for n in names if n not in out]
        if missing:
            raise ProblemError(f"no gradient returned for {', '.join(missing)}")
        return {n: out[n] for n in names}
    out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    if len(out) != len(names):
        raise ProblemError(f"{len(out)} gradients returned for {len(names)} inputs ({', '.join(names)})")
    return dict(zip(names, out))
