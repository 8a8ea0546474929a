"""Symbolic reverse mode over a model's definitions.

From the objective down, each definition that depends on a parameter gets a named adjoint
(dS = the gradient of the objective with respect to S), computed by pushing its gradient
through the definition's expression with the rules of ``rules.py``; each input's gradient is
the sum of what reaches it.  The results are matrix expressions over the inputs, the
definitions' symbols and the adjoints' symbols; ``inline`` expands them into the inputs alone.
Nothing here is typed in per model.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy import MatAdd, MatrixSymbol, OneMatrix

from .rules import rule_for
from .tidy import tidy


class Underivable(Exception):
    """An expression reverse mode has no rule for (the message names the construct)."""


@dataclass(frozen=True)
class Derivation:
    objective: str
    steps: tuple  # (adjoint symbol, expression), in the order they can be computed
    gradients: dict  # input name -> its gradient, over inputs, definitions and adjoints
    adjoints: dict  # definition name -> its adjoint's symbol
    order: tuple = ()  # the definitions the objective needs, in file order

    def expression(self, name: str):
        """The gradient of an input, or the adjoint of a definition, as a matrix expression."""
        if name in self.gradients:
            return self.gradients[name]
        sym = self.adjoints[name]
        return dict(self.steps)[sym]

    def inline(self, expr):
        """expr with adjoint symbols replaced by their expressions (definitions stay named)."""
        mapping = dict(self.steps)
        for _ in range(len(mapping) + 1):
            new = expr.xreplace(mapping)
            if new == expr:
                return expr
            expr = new
        return expr


def adjoint_name(name: str, taken: set[str]) -> str:
    out = f"d{name}"
    while out in taken:
        out += "_"
    return out


def derive(model, objective: str, wrt=None, cut=()) -> Derivation:
    """Reverse mode from the definition ``objective`` down to the inputs in ``wrt`` (default:
    every differentiable input it depends on).  Definitions in ``cut`` are leaves: their
    adjoints are computed but nothing flows past them."""
    spec = model.spec
    if wrt is None:  # the parameters, and whatever a generated function returns the gradient of
        wanted = {n for f in spec.functions() for n, _ in f.returns.gradients}
        wrt = [n for n, i in spec.inputs.items() if i.differentiable and (i.role == "parameter" or n in wanted)]
    targets = {model.inputs[n] for n in wrt if isinstance(model.inputs.get(n), MatrixSymbol)}
    names = list(model.definitions)
    needed = _needed(model, objective)
    depends: dict = {}
    for name in names:  # in file order: a definition depends on what it mentions
        if name not in needed or name in cut:
            continue
        syms = model.definitions[name].atoms(MatrixSymbol) if hasattr(model.definitions[name], "atoms") else set()
        if syms & targets or any(model.symbols[d] in syms and depends.get(d) for d in depends):
            depends[name] = True
    for name in cut:
        depends[name] = True
    dependent = targets | {model.symbols[d] for d in depends}
    taken = set(model.inputs) | set(model.definitions)
    contributions: dict = {model.symbols[objective]: [OneMatrix(1, 1)]}
    steps, adjoints = [], {}
    for name in reversed(names):
        sym = model.symbols[name]
        if name not in needed or sym not in contributions:
            continue
        g = tidy(_sum(contributions.pop(sym), sym.shape))
        if name != objective:
            adj = MatrixSymbol(adjoint_name(name, taken), *sym.shape)
            taken.add(adj.name)
            steps.append((adj, g))
            adjoints[name] = adj
            g = adj
        if name in cut:
            continue
        _backprop(model.definitions[name], g, dependent, contributions)
    gradients = {}
    for n in wrt:
        sym = model.inputs.get(n)
        if sym in contributions:
            gradients[n] = tidy(_sum(contributions[sym], sym.shape))
        elif isinstance(sym, MatrixSymbol):
            gradients[n] = sp.ZeroMatrix(*sym.shape)
    order = tuple(n for n in names if n in needed)
    return Derivation(objective, tuple(steps), gradients, adjoints, order)


def _needed(model, objective):
    return model.uses(objective) | {objective}


def _sum(terms, shape):
    terms = [t for t in terms if not isinstance(t, sp.ZeroMatrix)]
    if not terms:
        return sp.ZeroMatrix(*shape)
    return terms[0] if len(terms) == 1 else MatAdd(*terms)


def _depends(expr, dependent, memo):
    if expr in memo:
        return memo[expr]
    if isinstance(expr, MatrixSymbol):
        out = expr in dependent
    elif not isinstance(expr, sp.MatrixExpr):
        out = False
    else:
        out = any(_depends(a, dependent, memo) for a in expr.args)
    memo[expr] = out
    return out


def _backprop(expr, g, dependent, contributions):
    """Push g through expr; what reaches a symbol is added to contributions[symbol]."""
    memo: dict = {}
    order: list = []
    seen: set = set()

    def visit(node):  # post-order over distinct subexpressions that depend on a target
        if node in seen or not _depends(node, dependent, memo):
            return
        seen.add(node)
        if not isinstance(node, MatrixSymbol):
            for child in node.args:
                if isinstance(child, sp.MatrixExpr):
                    visit(child)
        order.append(node)

    visit(expr)
    adj = {expr: [g]}
    for node in reversed(order):  # every parent before its children
        if node not in adj:
            continue
        total = _sum(adj.pop(node), node.shape)
        if isinstance(node, MatrixSymbol):
            contributions.setdefault(node, []).append(total)
            continue
        rule = rule_for(node)
        if rule is None:
            raise Underivable(f"no derivative rule for {type(node).__name__}")
        for child, contribution in rule(node, total):
            if isinstance(child, sp.MatrixExpr) and _depends(child, dependent, memo):
                adj.setdefault(child, []).append(contribution)
