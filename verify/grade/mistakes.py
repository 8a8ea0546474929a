"""Mistakes derived from a model: symbolic mutants of each derived gradient and of the loss, named
in the derivation's terms.

For an output (the loss, or the gradient of an input) the model gives an expression, a sum of
terms.  Each mutant is one mistake a student makes: the sign flipped, a term dropped ("dW lacks
the term 2 reg W"), a scalar factor of a term missing or extra (2, 1/N, the regularisation
strength), a ReLU mask missing, a softmax or a plain sum over the wrong axis, two indices
swapped (or one used where the other belongs), a bias given the weights' regularisation term
(or put inside the loss's norms),
a term reg W written reg sum(W), the model without its ReLU, the result transposed.  Each is printed to NumPy by
derive.gradients.numpy_function and evaluated on a case's inputs; the grader names the mutant a
wrong output matches.  Built once per model function (SymPy is slow to import), and only when a
wrong answer needs a name; the shipped rubrics' model functions' mutants are printed once and committed
(verify.grade.rubric_models), and read from there while their model file is unchanged.
"""
from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mutant:
    message: str                                   # {name} is the output's name
    value: Callable[[dict], np.ndarray | None]     # the case's inputs by name -> the mutant's value


def candidates(model: str, function, role: str, data: dict) -> tuple[tuple[str, np.ndarray], ...]:
    """(message, value) of each mutant of the output named role, at the case's inputs."""
    out = []
    inputs = {k: v for k, v in data.items()}
    for mutant in mutants(model, function.name, function.returns.loss,
                          tuple(function.returns.gradients)).get(role, ()):
        try:
            with np.errstate(all="ignore"):
                value = mutant.value(inputs)
        except (ValueError, IndexError, TypeError, ArithmeticError):
            continue
        if value is not None:
            out.append((mutant.message, value))
    return tuple(out)


@functools.lru_cache(maxsize=16)
def mutants(model: str, function: str, loss: str, gradients: tuple[tuple[str, str], ...]) -> dict[str, tuple[Mutant, ...]]:
    """For each output (the loss's name, each gradient's place), its mutants: from the committed generated
    module of a shipped rubric's model when it is current (verify.grade.rubric_models: no SymPy), else derived."""
    from . import rubric_models

    module = rubric_models.generated_mutants(model, function, loss, gradients)
    if module is not None:
        arguments = list(module.ARGUMENTS)
        return {role: tuple(Mutant(message, _wrapped(f, arguments, scalar, transposed))
                            for message, f, transposed in entries)
                for role, (scalar, entries) in module.MUTANTS.items()}
    m, arguments, found = expressions(model, loss, gradients)
    return {role: tuple(Mutant(message, _wrapped(_function(m, expr, arguments), arguments, scalar, transposed))
                        for message, expr, transposed in entries)
            for role, (scalar, entries) in found.items()}


def expressions(model: str, loss: str, gradients: tuple[tuple[str, str], ...]):
    """(the model, its inputs' names, {output: (scalar, [(message, expression, transposed)])}): each mutant's
    SymPy expression, in order; transposed marks the mutant that is the right expression's transpose."""
    from gradproof.derive.gradients import gradients as derived

    g = derived(model)
    arguments = list(g.model.spec.inputs)
    regularised = _regularised(g)
    out = {loss: (True, _mutants(g.model, g.loss, scalar=True, inline=g.model.inline(g.loss),
                                 more=_loss_regularises_too(g, regularised)))}
    for wrt, place in gradients:
        if wrt in g.gradients:
            out[place] = (False, _mutants(g.model, g.gradients[wrt].expression, scalar=False,
                                          inline=g.gradients[wrt].inline, more=_regularised_too(g, wrt, regularised)))
    return g.model, arguments, out


def _regularised(g) -> dict:
    """Each input whose gradient has a term c P of the input P itself (a regularisation, reg W1): P -> c."""
    import sympy as sp
    from sympy import MatAdd, MatMul, MatrixSymbol

    out = {}
    for wrt, gradient in g.gradients.items():
        expr = gradient.expression
        own = MatrixSymbol(wrt, *expr.shape)
        for term in (expr.args if isinstance(expr, MatAdd) else (expr,)):
            if isinstance(term, MatMul) and [a for a in term.args if getattr(a, "is_Matrix", False)] == [own]:
                out[wrt] = sp.Mul(*[a for a in term.args if not getattr(a, "is_Matrix", False)])
    return out


def _loss_regularises_too(g, regularised: dict) -> list:
    """The loss with the parameters it does not regularise (the biases) inside its regularisation
    (reg/2 (|W1|^2 + |W2|^2 + |b1|^2 + |b2|^2)), as the gradients of _regularised_too would belong to."""
    from sympy import MatrixSymbol

    from gradproof.derive.algebra import FrobeniusSq

    norms = sorted(g.loss.atoms(FrobeniusSq), key=str)
    if not norms or not regularised:
        return []
    others = [w for w, i in g.model.spec.inputs.items()
              if i.role == "parameter" and w in g.gradients and w not in regularised]
    if not others:
        return []
    added = [FrobeniusSq(MatrixSymbol(w, *g.gradients[w].expression.shape)) for w in others]
    widened = g.loss.xreplace({norms[0]: norms[0] + sum(added[1:], added[0])})
    return [(f"{{name}} regularises {', '.join(others)} too, but the model regularises only "
             f"{', '.join(sorted(regularised))}", widened)]


def _regularised_too(g, wrt: str, regularised: dict) -> list:
    """A parameter the loss does not regularise (a bias) given the others' regularisation term all the
    same: the mistake of regularising the biases too."""
    from sympy import MatrixSymbol

    from gradproof.derive.printer import to_latex

    coefficients = set(regularised.values())
    if wrt in regularised or len(coefficients) != 1 or g.model.spec.inputs[wrt].role != "parameter":
        return []
    expr = g.gradients[wrt].expression
    term = next(iter(coefficients)) * MatrixSymbol(wrt, *expr.shape)
    return [(f"{{name}} has a regularisation term {plain(to_latex(term))}, but the loss regularises only "
             f"{', '.join(sorted(regularised))}", expr + term)]


def _mutants(model, expr, scalar: bool, inline=None, more=()) -> list[tuple]:
    import sympy as sp
    from sympy import HadamardProduct, MatAdd

    from gradproof.derive.algebra import Step
    from gradproof.derive.printer import to_latex

    terms = list(expr.args) if isinstance(expr, MatAdd) else [expr]
    sizes = set(model.sizes.values())
    found: list[tuple[str, object]] = [("{name} has the opposite sign", -expr)]
    if len(terms) > 1:
        found += [(f"{{name}} lacks the term {plain(to_latex(t))}", _sum([u for u in terms if u is not t]))
                  for t in terms]
    for t in terms:
        rest = [u for u in terms if u is not t]
        for factor in _factors(t, sizes):
            shown = plain(to_latex(factor))
            found.append((f"{{name}} lacks the factor {shown} of its term {plain(to_latex(t))}",
                          _sum(rest + [(1 / factor) * t])))
        averaged = sorted({f.base for u in terms for f in _factors(u, sizes) if f.is_Pow}, key=str)  # 1/N somewhere
        for extra in (sp.Integer(2),) + tuple(sp.Pow(n, -1) for n in averaged):  # (1/N where 1/N is: divided twice)
            found.append((f"{{name}} has an extra factor {plain(to_latex(extra))} on its term {plain(to_latex(t))}",
                          _sum(rest + [extra * t])))
    masked = expr.replace(lambda e: isinstance(e, HadamardProduct) and any(isinstance(a, Step) for a in e.args),
                          lambda e: _without_step(e))
    if masked != expr:
        steps = {plain(to_latex(a)) for a in expr.atoms(Step)} or {"the mask"}
        found.append((f"{{name}} lacks the ReLU mask {', '.join(sorted(steps))} (the derivative of max(0, z) is 0 "
                      "where z <= 0)", masked))
        # a ⊙ [z >= 0] = a - a ⊙ [-z > 0]: the mask that lets the gradient through where z is exactly 0
        closed = expr.replace(lambda e: isinstance(e, HadamardProduct) and any(isinstance(a, Step) for a in e.args),
                              lambda e: _without_step(e) - HadamardProduct(*[Step(-a.args[0]) if isinstance(a, Step)
                                                                             else a for a in e.args]))
        found.append((f"{{name}} uses the mask {', '.join(sorted(s.replace(' > ', ' >= ') for s in steps))}: relu'(0) "
                      "is 0, so no gradient passes where the input is exactly 0 (the mask is [z > 0])", closed))
    found += _wrong_axis(expr)
    found += _wrong_sum_axis(expr)
    found += _swapped_indices(model, inline if inline is not None else expr)
    found += list(more)  # the mutants only the whole model shows (a bias regularised like the weights)
    found += _summed_term(model, terms, expr)
    found += _without_relu(model, inline if inline is not None else expr)
    out, seen = [], set()
    for message, mutant in found:  # one message may stand for several mutants (an index at each of its uses)
        if (message, mutant) in seen:
            continue
        seen.add((message, mutant))
        out.append((message, mutant, False))
    if not scalar:
        out.append(("{name} looks transposed", expr, True))
    return out


def _wrong_axis(expr) -> list:
    """Each softmax, log-softmax or logsumexp taken over the other axis (columns for rows), one at a time."""
    from gradproof.derive.algebra import LogSoftmax, LogSumExp, Softmax
    from gradproof.derive.printer import to_latex

    out = []
    for node in {n for n in expr.atoms(Softmax, LogSoftmax, LogSumExp)}:
        other = type(node)(node.args[0], 1 - node.axis)
        which = "each column" if node.axis == 1 else "each row"
        out.append((f"{{name}} takes {plain(to_latex(node))} over {which}, not over each "
                    f"{'row' if node.axis == 1 else 'column'} (the wrong axis)", expr.xreplace({node: other})))
    return out


def _wrong_sum_axis(expr) -> list:
    """Each plain sum over one axis of a matrix taken over the other one (np.sum(dout, axis=1) for the
    bias gradient np.sum(dout, axis=0)): a product M 1 with a column of ones sums M along each row, so
    M^T 1 sums it down each column; the mutant swaps the two.  Vectors (a dimension of 1) are left out:
    summing one over its other axis is no sum."""
    import sympy as sp
    from sympy import MatMul, OneMatrix, Transpose

    from gradproof.derive.printer import to_latex

    out = []
    for node in sp.preorder_traversal(expr):
        if not (isinstance(node, MatMul) and isinstance(node.args[-1], OneMatrix) and node.args[-1].shape[1] == 1):
            continue
        summed = MatMul(*node.args[:-1]).doit() if len(node.args) > 2 else node.args[0]
        if not getattr(summed, "is_Matrix", False) or 1 in summed.shape:
            continue
        other = MatMul(summed.T, OneMatrix(summed.shape[0], 1))
        # in the student's terms: a transposed product X^T 1 is np.sum(X, axis=0); M 1 is np.sum(M, axis=1)
        shown, right = (summed.args[0], 0) if isinstance(summed, Transpose) else (summed, 1)
        words = {0: "axis 0 (down each column)", 1: "axis 1 (along each row)"}
        out.append((f"{{name}} sums {plain(to_latex(shown))} over {words[1 - right]}, not over {words[right]} "
                    "(the wrong axis)", expr.xreplace({node: other})))
    return out


def _swapped_indices(model, inline) -> list:
    """Two index inputs of the same shape and range exchanged (the center word's index where the outside
    word's belongs, and back), or one used where the other belongs; over the expression with its
    definitions expanded, so that an index used inside a definition is exchanged too."""
    inputs = model.spec.inputs
    present = {s.name: s for s in getattr(inline, "free_symbols", ())}
    names = [n for n, i in inputs.items() if i.role == "index" and n in present]
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if tuple(inputs[a].shape or ()) != tuple(inputs[b].shape or ()) or inputs[a].range != inputs[b].range:
                continue
            A, B = present[a], present[b]
            out.append((f"{{name}} has the indices {a} and {b} swapped ({b} where {a} belongs, {a} where {b} belongs)",
                        inline.xreplace({A: B, B: A})))
            for old, new in ((A, B), (B, A)):  # one use at a time: the gradient put in the other word's row
                for k in range(_uses(inline, old)):
                    out.append((f"{{name}} uses the index {new.name} where {old.name} belongs",
                                _replace_use(inline, old, new, k)[0]))
    return out


def _uses(expr, symbol) -> int:
    return sum(1 for _ in _places(expr, symbol))


def _places(expr, symbol):
    for arg in expr.args:
        if arg == symbol:
            yield arg
        else:
            yield from _places(arg, symbol)


def _replace_use(expr, symbol, new, k: int):
    """(expr with the k-th use of symbol, in preorder, replaced by new; how many uses remain to skip)."""
    if not expr.args:
        return expr, k
    args, changed = [], False
    for arg in expr.args:
        if k >= 0 and arg == symbol:
            args.append(new if k == 0 else arg)
            changed, k = changed or k == 0, k - 1
        elif k >= 0:
            rebuilt, k = _replace_use(arg, symbol, new, k)
            changed = changed or rebuilt is not arg
            args.append(rebuilt)
        else:
            args.append(arg)
    return (expr.func(*args) if changed else expr), k


def _summed_term(model, terms: list, expr) -> list:
    """A term c P of an input P (the regularisation reg W) written with the sum of P's entries, added to
    every entry (reg * np.sum(W) for reg * W)."""
    import sympy as sp
    from sympy import MatMul, MatrixSymbol, OneMatrix

    from gradproof.derive.algebra import Total
    from gradproof.derive.printer import to_latex

    out = []
    for t in terms:
        matrices = [a for a in t.args if getattr(a, "is_Matrix", False)] if isinstance(t, MatMul) else []
        if len(matrices) != 1 or not isinstance(matrices[0], MatrixSymbol) or matrices[0].name not in model.spec.inputs:
            continue
        P = matrices[0]
        c = sp.Mul(*[a for a in t.args if not getattr(a, "is_Matrix", False)])
        summed = c * (OneMatrix(P.shape[0], 1) * Total(P) * OneMatrix(1, P.shape[1]))
        out.append((f"{{name}} adds {plain(to_latex(c))} sum({P.name}) to every entry where its term "
                    f"{plain(to_latex(t))} belongs (the sum of {P.name}'s entries, not {P.name} itself)",
                    expr.xreplace({t: summed})))
    return out


def _without_relu(model, inline) -> list:
    """The model without its ReLU (a network whose hidden layer is left linear): each max(0, z) taken as z,
    each mask [z > 0] as 1."""
    from sympy import HadamardProduct

    from gradproof.derive.algebra import Relu, Step
    from gradproof.derive.printer import to_latex

    if not inline.atoms(Relu):
        return []
    linear = inline.replace(lambda e: isinstance(e, Relu), lambda e: e.args[0])
    linear = linear.replace(lambda e: isinstance(e, HadamardProduct) and any(isinstance(a, Step) for a in e.args),
                            lambda e: _without_step(e))
    relus = [(n, d) for n, d in model.definitions.items() if isinstance(d, Relu)]
    which = "; ".join(f"{n} = {plain(to_latex(d))} taken as {n} = {plain(to_latex(d.args[0]))}" for n, d in relus)
    which = f" ({which})" if which else ""
    return [(f"{{name}} is what the model gives without its ReLU{which}", linear)]


def _sum(terms: list):
    """The terms added up with SymPy's own operator (a MatAdd built by hand keeps scalar products the
    printer cannot print)."""
    return functools.reduce(operator.add, terms)


def _without_step(e):
    from sympy import HadamardProduct

    from gradproof.derive.algebra import Step
    kept = [a for a in e.args if not isinstance(a, Step)]
    return kept[0] if len(kept) == 1 else HadamardProduct(*kept)


def _factors(term, sizes: set) -> list:
    """The scalar factors of a term worth naming as missing: whole numbers other than 1, sizes and their
    inverses (1/N), found in the term's products however deeply nested."""
    import sympy as sp
    from sympy import MatMul

    out = []
    for node in sp.preorder_traversal(term):
        if isinstance(node, MatMul):
            for arg in node.args:
                if getattr(arg, "is_Matrix", False):
                    continue
                for factor in sp.Mul.make_args(arg):
                    if factor.is_Integer and abs(factor) != 1 or factor in sizes or factor.is_Pow and factor.base in sizes:
                        if factor not in out:
                            out.append(factor)
    return out


def _function(model, expr, arguments: list[str]):
    """expr printed to NumPy and compiled, or None where the printer cannot print it (no such mutant)."""
    from gradproof.derive.gradients import numpy_function

    try:
        return numpy_function(model, expr, "mutant", arguments)
    except Exception:  # an expression the printer cannot print: no such mutant
        return None


def _wrapped(f, arguments: list[str], scalar: bool, transposed: bool):
    """The case's inputs by name -> f's value as float64 (a scalar output as a 0-d array), or transposed."""
    if f is None:
        return lambda inputs: None

    def value(inputs: dict):
        got = np.asarray(f(**{a: inputs[a] for a in arguments}), dtype=np.float64)
        return got.reshape(()) if scalar and got.size == 1 else got
    return (lambda inputs: _transposed(value(inputs))) if transposed else value


def _transposed(value):
    if value is None or np.ndim(value) != 2:
        return None
    return value.T


WORDS = [("\\left", ""), ("\\right", ""), ("\\|", "‖"), ("\\odot", "⊙"), ("\\cdot", "·"), ("\\mathbf{1}", "1"),
         ("^{T}", "^T"), ("_{F}", "_F")]
LATEX = [(r"\\frac\{1\}\{([^{}]+)\}", r"1/\1"), (r"\\frac\{([^{}]+)\}\{([^{}]+)\}", r"\1/\2"),
         (r"\\(?:mathrm|operatorname)\{([^{}]+)\}", r"\1"), (r"\\", ""), (r"[{}]", ""), (r"\s+", " ")]


def plain(latex: str) -> str:
    """LaTeX as a student reads it in plain text: 1/N (softmax(S) - onehot(y)), X^T, ‖W‖^2."""
    text = latex
    for word, replacement in WORDS:
        text = text.replace(word, replacement)
    for pattern, replacement in LATEX:
        text = re.sub(pattern, replacement, text)
    return text.strip()
