"""The derived gradients of a model, as data: matrix expressions over the primitives.

    from gradproof.derive.gradients import gradients, numpy_function

    g = gradients("softmax-classifier")           # a shipped name, a path, or a loaded Model
    g.gradients["W"].expression                   # (2*reg)*W + X.T*dS-inlined ... a SymPy MatrixExpr
    g.gradients["W"].latex                        # for messages
    f = numpy_function(g.model, -g.gradients["W"].expression)   # a mutant, printed and compiled
    f(W=W, X=X, y=y, reg=0.1)                     # its value, with NumPy

Expressions are SymPy matrix expressions: mutate them with SymPy (negate, ``.T``, drop a term
of ``expr.args``, scale), print them with ``numpy_source`` / ``numpy_function``, or prove two
equal with ``derive.proofs``.  Definitions appear by their symbols (MatrixSymbol('S', N, C)); the
``inline`` form has them expanded into the inputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy import MatrixExpr, MatrixSymbol

from .model import Model, load
from .printer import RUNTIME, NumPyCode, helpers, to_latex
from .reverse import Derivation, derive


@dataclass(frozen=True)
class Gradient:
    wrt: str  # the input's name
    expression: MatrixExpr  # over the inputs and the definitions' symbols
    inline: MatrixExpr  # over the inputs alone
    latex: str


@dataclass(frozen=True)
class ModelGradients:
    model: Model
    objective: str  # the definition differentiated
    loss: object  # its expression, over inputs and definitions' symbols
    definitions: dict  # name -> expression, in file order
    gradients: dict  # input name -> Gradient
    derivation: Derivation  # the named adjoints, for code that shares them


def gradients(model: str | Path | Model, objective: str | None = None) -> ModelGradients:
    """Reverse mode on a model's objective (default: the file's), for each parameter and each
    input a generated function returns the gradient of."""
    m = model if isinstance(model, Model) else load(model)
    name = objective or m.objective
    d = derive(m, name)
    out = {}
    for wrt, expr in d.gradients.items():
        full = d.inline(expr)
        out[wrt] = Gradient(wrt, full, m.inline(full), to_latex(full))
    return ModelGradients(m, name, m.definitions[name], dict(m.definitions), out, d)


def numpy_source(model: Model, expr, name: str = "value", arguments=None) -> str:
    """A Python function computing expr from the model's inputs: the definitions it uses, then
    the expression, printed as the generated modules are."""
    arguments = list(arguments or [n for n in model.spec.inputs])
    used, todo = [], [expr]
    while todo:
        e = todo.pop()
        for sym in (e.atoms(MatrixSymbol) if isinstance(e, sp.Basic) else ()):
            for n, s in model.symbols.items():
                if s == sym and n not in used:
                    used.append(n)
                    todo.append(model.definitions[n])
    order = [n for n in model.definitions if n in used]
    printer = NumPyCode()
    lines = [f"def {name}({', '.join(arguments)}):"]
    for a in arguments:
        if model.spec.inputs.get(a) is not None and model.spec.inputs[a].role == "index" and model.spec.inputs[a].shape:
            lines.append(f"    {a} = np.asarray({a}, dtype=np.intp)")
    for size, sym in model.sizes.items():
        for a in arguments:
            shape = list(model.spec.inputs[a].shape) if a in model.spec.inputs else []
            if size in shape:
                lines.append(f"    {size} = np.shape({a})[{shape.index(size)}]")
                break
    for n in order:
        lines.append(f"    {n} = {printer.doprint(model.definitions[n])}")
    lines.append(f"    return {printer.doprint(expr)}")
    body = "\n".join(lines)
    return "import numpy as np\n" + "".join(RUNTIME[h] for h in helpers(body)) + "\n\n" + body + "\n"


def numpy_function(model: Model, expr, name: str = "value", arguments=None):
    """numpy_source compiled: a callable taking the model's inputs by name."""
    source = numpy_source(model, expr, name, arguments)
    scope: dict = {}
    exec(compile(source, f"<{model.name}: {name}>", "exec"), scope)  # our own printed code
    return scope[name]
