"""Inputs for any function: a Problem from a declared interface.

`gradproof verify FILE.py:FUNCTION --inputs SPEC` checks a function of any signature. SPEC is
either a TOML file read by derive/spec.py ([sizes], [inputs.NAME], [function] with its
returns, loss and [function.gradients]) whose inputs are drawn here from a seed, or
``spec.py:make``, a Python function that returns the arguments itself:

    def make(seed, sizes):          # both parameters optional
        return {"inputs": {"W": W, "X": X, "y": y, "reg": 0.1},   # the arguments, in call order
                "returns": ["loss", "dW"],                        # names of the returned values
                "gradients": {"W": "dW"}}                         # or "grads.W1": a key of a returned dict

The inputs with a gradient are differentiated; every other argument is held fixed.
"""
from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from gradproof.derive import spec as specs

from .problem import Evaluation, InterfaceError, Point, Problem


class InputsError(Exception):
    """A spec that cannot give inputs: one line naming the file (and line)."""


# -- drawing the inputs a TOML spec declares ------------------------------------------------------


def draw(spec: specs.Spec, sizes: Mapping[str, int], seed: int) -> dict[str, object]:
    """Every input of the spec, drawn from one seeded generator in file order."""
    rng = np.random.default_rng(seed)
    return {name: _draw(spec, item, sizes, rng) for name, item in spec.inputs.items()}


def _draw(spec: specs.Spec, item: specs.Input, sizes, rng) -> object:
    shape = spec.shape(item.name, dict(sizes))
    if item.role == "scalar":
        return item.value if item.value is not None else (float(rng.normal()) if not shape else rng.normal(size=shape))
    if item.role == "index" or item.distribution == "integers":
        high = spec.size(item.range, dict(sizes)) if item.range is not None else int(item.high or 2)
        low = int(item.low or 0) if item.role != "index" else 0
        values = rng.integers(low, high, size=shape)
        return int(values) if not shape else values.astype(item.dtype if item.dtype.startswith("int") else np.int64)
    if item.distribution == "uniform":
        values = rng.uniform(item.low if item.low is not None else 0.0, item.high if item.high is not None else 1.0, shape)
    elif item.distribution == "log-uniform":
        values = np.exp(rng.uniform(np.log(item.low), np.log(item.high), shape))
    elif item.distribution in ("unit-rows", "unit-columns"):
        values = rng.normal(size=shape)
        axis = -1 if item.distribution == "unit-rows" or values.ndim < 2 else -2
        norms = np.linalg.norm(values, axis=axis, keepdims=True) if values.ndim else abs(values)
        values = item.scale * values / np.where(norms == 0, 1.0, norms)
    else:
        values = rng.standard_normal(shape)
        if item.scale != 1.0:
            values *= item.scale
        if item.mean:
            values += item.mean
    if item.dtype == "bool":
        return np.asarray(values) > 0
    return np.asarray(values, dtype=item.dtype) if shape else float(values)


def sizes_with(spec: specs.Spec, overrides: Mapping[str, int]) -> dict[str, int]:
    unknown = [k for k in overrides if k not in spec.sizes]
    if unknown:
        known = ", ".join(spec.sizes) or "none declared"
        raise InputsError(f"{spec.source}: --size {unknown[0]}: no such size (sizes: {known})")
    return {**spec.sizes, **overrides}


def from_toml(fn: Callable, path: str, overrides: Mapping[str, int], seed: int, name: str) -> Problem:
    try:
        spec = specs.load(path)
    except specs.SpecError as e:
        raise InputsError(str(e)) from None
    function = chosen_function(spec, path, name)
    if not function.returns.gradients:
        raise InputsError(f"{path}: [function.gradients] is empty: name the gradient of at least one input")
    sizes = sizes_with(spec, overrides)
    values = draw(spec, sizes, seed)
    arguments = {a: values[a] for a in function.arguments}
    dtypes = {n: spec.inputs[n].dtype for n in arguments if spec.inputs[n].dtype.startswith("float")}
    returns = function.returns
    # a model file's defaults are the generated signature's; an argument drawn here is passed once
    defaults = {k: v for k, v in function.defaults if k not in arguments}
    return interface_problem(fn, arguments, returns.names, returns.loss, dict(returns.gradients),
                             defaults, name, dtypes, where=path)


def chosen_function(spec: specs.Spec, path: str, name: str) -> specs.FunctionSpec:
    """The interface the target has: a model file's variant of the same name, else its
    [function]; an interface whose arguments are not all inputs of the file cannot be drawn."""
    functions = spec.functions()
    if not functions:
        raise InputsError(f"{path}: no [function] table: say which value is the loss and which the gradients")
    function = next((f for f in functions if f.name == name), functions[0])
    unknown = [a for a in function.arguments if a not in spec.inputs]
    if unknown:
        others = [f.name for f in functions if all(a in spec.inputs for a in f.arguments)]
        hint = f"; functions of this file it can draw inputs for: {', '.join(others)}" if others else ""
        raise InputsError(f"{path}:{function.line or 1}: {function.name}'s argument '{unknown[0]}' is not an input of "
                          f"the file (it stands for {function.bound(unknown[0]) or 'something the file does not draw'})"
                          f"; a course signature is checked with --signature{hint}")
    return function


# -- a Python make() ------------------------------------------------------------------------------


def from_make(fn: Callable, target: str, overrides: Mapping[str, int], seed: int, name: str) -> Problem:
    path, _, func = target.rpartition(":")
    make = _load(path, func)
    where = f"{path}:{_line(make)}"
    parameters = list(inspect.signature(make).parameters)
    args = (seed, dict(overrides))[:len(parameters)]
    try:
        made = make(*args)
    except Exception as e:  # its own code: say what it raised, in one line
        raise InputsError(f"{where}: {func}() raised {type(e).__name__}: {str(e)[:200]}") from None
    if not isinstance(made, Mapping) or not isinstance(made.get("inputs"), Mapping):
        raise InputsError(f"{where}: {func}() must return a dict with 'inputs' (the arguments by name, in call order), "
                          "'returns' and 'gradients'")
    inputs = dict(made["inputs"])
    returns = made.get("returns", ["loss"])
    returns = [returns] if isinstance(returns, str) else list(returns) if isinstance(returns, Sequence) else None
    if not returns or not all(isinstance(r, str) and r for r in returns):
        raise InputsError(f"{where}: 'returns' must be a list of names of the returned values")
    loss = made.get("loss", "loss" if "loss" in returns else returns[0])
    gradients = made.get("gradients")
    if not isinstance(gradients, Mapping) or not gradients:
        raise InputsError(f"{where}: 'gradients' must map input names to returned values, e.g. {{'W': 'dW'}}")
    for key, target_name in gradients.items():
        if key not in inputs:
            raise InputsError(f"{where}: gradient of '{key}', which is not among the inputs ({', '.join(inputs)})")
        if not isinstance(target_name, str) or target_name.split(".")[0] not in returns:
            raise InputsError(f"{where}: the gradient of {key} must be a returned value (one of {', '.join(returns)}) "
                              f"or a key of one ('grads.W1'), not {target_name!r}")
    if loss not in returns:
        raise InputsError(f"{where}: loss '{loss}' is not among the returned values {returns}")
    dtypes = {k: str(np.asarray(v).dtype) for k, v in inputs.items() if k in gradients}
    return interface_problem(fn, inputs, tuple(returns), loss, dict(gradients), dict(made.get("defaults", {})),
                             name, dtypes, where=where)


def _load(path: str, func: str) -> Callable:
    file = Path(path)
    if not func or not file.is_file():
        raise InputsError(f"{path}: no such file" if func else f"--inputs '{path}': expected SPEC.toml or SPEC.py:FUNCTION")
    spec = importlib.util.spec_from_file_location("gradproof_inputs", file)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise InputsError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:
        raise InputsError(f"{path}: importing it raised {type(e).__name__}: {str(e)[:200]}") from None
    make = getattr(module, func, None)
    if not callable(make):
        raise InputsError(f"{path}: no function named '{func}'")
    return make


def _line(fn) -> int:
    try:
        return inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        return 1


# -- the Problem ---------------------------------------------------------------------------------------


def interface_problem(fn: Callable, arguments: Mapping[str, object], returns: Sequence[str], loss: str,
                      gradients: Mapping[str, str], defaults: Mapping[str, object], name: str,
                      dtypes: Mapping[str, str], where: str = "") -> Problem:
    """fn(*arguments, **defaults) returns the values named by ``returns``; the inputs named in
    ``gradients`` are differentiated (cast back to their declared dtype for every call)."""
    wrt = [k for k in arguments if k in gradients]
    for k in wrt:
        value = np.asarray(arguments[k])
        if not np.issubdtype(value.dtype, np.floating):
            raise InputsError(f"{where}: input {k} has a gradient but is not real-valued ({value.dtype})")
    point = {k: np.array(arguments[k], dtype=np.float64) for k in wrt}
    fixed = {k: v for k, v in arguments.items() if k not in gradients}
    order = list(arguments)
    casts = {k: np.dtype(dtypes.get(k, "float64")) for k in wrt}
    shapes = {k: np.shape(arguments[k]) for k in wrt}

    def evaluate(x: Point) -> Evaluation:
        args = [(_as(x[k], casts[k], shapes[k]) if k in x else fixed[k]) for k in order]
        out = fn(*args, **defaults)
        values = _named(out, returns)
        return Evaluation(_scalar(values[loss], loss), {k: _pick(values, gradients[k]) for k in wrt})

    labels = {k: gradients[k] for k in wrt}
    return Problem(name, point, evaluate, labels)


def _as(x: np.ndarray, dtype: np.dtype, shape) -> object:
    if shape == ():  # a scalar argument stays a Python number, as the caller would pass it
        return float(x) if dtype == np.float64 else dtype.type(x)
    return x if dtype == np.float64 else x.astype(dtype)


def _named(out, names: Sequence[str]) -> dict[str, object]:
    if len(names) == 1:
        return {names[0]: out}
    if not isinstance(out, (tuple, list)):
        raise InterfaceError(f"the function returned one {type(out).__name__}; the spec declares {len(names)} "
                           f"values ({', '.join(names)})")
    if len(out) != len(names):
        raise InterfaceError(f"the function returned {len(out)} values; the spec declares {len(names)} "
                           f"({', '.join(names)})")
    return dict(zip(names, out))


def _pick(values: Mapping[str, object], where: str):
    head, _, key = where.partition(".")
    value = values[head]
    if not key:
        return value
    if not isinstance(value, Mapping):
        raise InterfaceError(f"'{head}' is a {type(value).__name__}, not a dict with key '{key}'")
    if key not in value:
        raise InterfaceError(f"'{head}' has no key '{key}' (keys: {', '.join(map(str, value))})")
    return value[key]


def _scalar(loss, name: str):
    value = np.asarray(loss)
    if value.size != 1 or not np.issubdtype(value.dtype, np.number):
        raise InterfaceError(f"the loss '{name}' must be a number, got {type(loss).__name__} of shape {value.shape}")
    return value.reshape(()).item() if value.dtype != np.float32 else np.float32(value.reshape(()))


def problem_for_inputs(fn: Callable, inputs: str, overrides: Mapping[str, int], seed: int, name: str) -> Problem:
    """--inputs SPEC: a TOML spec, or SPEC.py:FUNCTION."""
    if inputs.endswith(".toml") or (":" not in inputs and not inputs.endswith(".py")):
        return from_toml(fn, inputs, overrides, seed, name)
    return from_make(fn, inputs, overrides, seed, name)
