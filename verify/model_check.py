"""Check a function a model file declares ([function] or [[variants]]) against finite
differences: its inputs drawn as the file's [inputs] say, its returned gradients found where
[function.gradients] says (a position, or a key of a returned dict).

Used by `gradproof run` and `gradproof verify --model` for the generated functions of a model,
and by the tests; the inputs are drawn as `gradproof verify --inputs` draws them (verify/inputs.py).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from gradproof.derive.spec import FunctionSpec, Spec

from .check import check_gradient
from .inputs import draw
from .results import GradientCheck


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
    values = dict(inputs) if inputs is not None else draw(spec, {**spec.sizes, **(sizes or {})}, seed)
    adapted, wrt = returned_gradients(fn, spec, function)
    point = {name: np.asarray(values[name], dtype=np.float64) for name in wrt}
    fixed = {name: values[name] for name in arguments if name not in wrt}
    return check_gradient(adapted, point, wrt=wrt, fixed=fixed, name=function.name, seed=seed, **options)
