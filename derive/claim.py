"""A claim: a closed form that must equal what differentiation of the model gives."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy as sp

Substitution = Callable[[sp.Expr], sp.Expr]


@dataclass(frozen=True)
class Case:
    """A restriction of a claim, e.g. i = j: applied to the symbolic derivative as a rewrite,
    and to the explicit check as a filter on concrete index values."""

    name: str
    rewrite: Substitution
    admits: Callable[[Mapping[str, int]], bool]


@dataclass(frozen=True)
class Claim:
    model: str
    name: str
    equation: str | None  # the seed's equation label, where it has one
    statement: str  # LaTeX of the claim, as the report shows it
    of: sp.Expr  # the scalar the claim is about (a loss, a probability)
    wrt: sp.Indexed | None  # differentiate ``of`` by this entry; None: ``of`` itself
    closed: sp.Expr  # the closed form at index level
    post: Callable[[sp.Expr, sp.Expr], sp.Expr] | None = None  # (derivative, of) -> derived
    case: Case | None = None
    matrix: sp.Basic | None = None  # the matrix form the code generator prints

    def derived(self) -> sp.Expr:
        """Differentiate at index level; never the closed form typed in.  A case's rewrite
        is applied by the prover after normalisation, when the deltas are visible."""
        d = self.of if self.wrt is None else sp.diff(self.of, self.wrt)
        if self.post is not None:
            d = self.post(d, self.wrt)
        return d


@dataclass(frozen=True)
class Model:
    name: str
    title: str
    loss: str  # LaTeX of J
    claims: tuple[Claim, ...] = field(default=())
