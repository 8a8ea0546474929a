"""Check a function a model file declares ([function] or [[variants]]) against finite
differences: its inputs drawn as the file's [inputs] say, its returned gradients found where
[function.gradients] says (a position, or a key of a returned dict).

Used by `gradproof run` for the generated modules of the shipped models, and by the tests.
(`gradproof verify --inputs SPEC` reads the same files for any function.)
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from gradproof.derive.spec import FunctionSpec, Spec

from .check import check_gradient
from .results import GradientCheck


def draw_inputs(spec: Spec, seed: int = 0, sizes: Mapping[str, int] | None = None,
                names=None) -> dict[str, object]:
    """A value for each input (or each of names), at the file's sizes or the given ones."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, inp in spec.inputs.items():
        if names is not None and name not in names:
            continue
        shape = spec.shape(name, dict(sizes or {}))
        if inp.role == "scalar":
            out[name] = inp.value if inp.value is not None else 0.1
        elif inp.role == "index":
            high = spec.size(inp.range, dict(sizes or {}))
            value = rng.integers(0, high, size=shape)
            out[name] = int(value) if not shape else value
        elif inp.distribution == "integers":
            low = 0 if inp.low is None else int(inp.low)
            high = low + 10 if inp.high is None else int(inp.high)
            value = rng.integers(low, high, size=shape)
            out[name] = value.astype(np.float64) if inp.dtype.startswith("float") else value
        elif inp.distribution == "uniform":
            out[name] = rng.uniform(inp.low or 0.0, inp.high if inp.high is not None else 1.0, size=shape)
        elif inp.distribution == "log-uniform":
            out[name] = np.exp(rng.uniform(np.log(inp.low), np.log(inp.high), size=shape))
        else:
            value = inp.mean + inp.scale * rng.standard_normal(size=shape)
            out[name] = float(value) if not shape else value
    return out


def returned_gradients(fn: Callable, spec: Spec, function: FunctionSpec) -> tuple[Callable, list[str]]:
    """(g, wrt): g(**arguments) returns (loss, gradient of wrt[0], ...) from fn's own return."""
    names = list(function.returns.names)
    wrt = [name for name, _ in function.returns.gradients]
    places = [place for _, place in function.returns.gradients]

    def adapted(**kwargs):
        out = fn(**kwargs)
        values = dict(zip(names, out)) if function.returns.is_tuple else {names[0]: out}
        grads = []
        for place in places:
            head, _, key = place.partition(".")
            grads.append(values[head][key] if key else values[head])
        return (values[function.returns.loss], *grads)

    return adapted, wrt


def check_function(fn: Callable, spec: Spec, function: FunctionSpec | None = None, seed: int = 0,
                   sizes: Mapping[str, int] | None = None, inputs: Mapping[str, object] | None = None,
                   **options) -> GradientCheck:
    """Finite differences on every gradient the function returns, at drawn (or given) inputs."""
    function = function or spec.function
    arguments = [a for a in function.arguments if a in spec.inputs]
    values = dict(inputs) if inputs is not None else draw_inputs(spec, seed, sizes, arguments)
    adapted, wrt = returned_gradients(fn, spec, function)
    point = {name: np.asarray(values[name], dtype=np.float64) for name in wrt}
    fixed = {name: values[name] for name in arguments if name not in wrt}
    return check_gradient(adapted, point, wrt=wrt, fixed=fixed, name=function.name, seed=seed, **options)
