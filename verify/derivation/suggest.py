"""The right-hand side the toolkit's own derivation gives, for a step that fails.

The derive stage's proved claims are written in a notation of their own; a claim whose left-
hand side parses to the same tree as the failing chain's subject, and whose right-hand side
holds for that subject under the document's context, is offered as the correct form.  Nothing
here knows any document: it only compares parsed trees and checks.
"""
from __future__ import annotations

from functools import cache

from gradproof.derive.latex import ParseError

from .document import _split_top


@cache
def _claims() -> tuple[tuple[str, str, str], ...]:
    """(left, right, citation) of every proved claim whose statement is one equality chain.  Only
    the statements are needed, so the shipped model files are read, not built (building them
    parses every definition and claim: seconds); the tests prove every shipped claim."""
    from gradproof.derive.catalog import SHIPPED, names
    from gradproof.derive.spec import load

    out = []
    for name in names():
        spec = load(SHIPPED / f"{name}.toml")
        model = spec.model.name if spec.model and spec.model.name else name
        for claim in spec.claims:
            if "\\quad" in claim.latex:
                continue  # a statement with a side condition or two equations: not one chain
            pieces = [p.strip() for _, p, _ in _split_top(claim.latex)]
            if len(pieces) >= 2:
                eq = f", seed eq. {claim.label}" if claim.label else ""
                out.append((pieces[0], pieces[-1], f"{model}: {claim.name}{eq}"))
    return tuple(out)


def correct_form(subject: str, ctx, condition, checker) -> str:
    """'<right-hand side> (claim ...)' for the quantity ``subject``, or '' when no claim fits."""
    try:
        tree = checker.parse(subject)
    except ParseError:
        return ""
    conditions = tuple(condition or ())
    for left, right, citation in _claims():
        try:
            if checker.parse(left) != tree:
                continue
            candidate = checker.parse(right)
        except ParseError:
            continue
        if checker.compare(tree, candidate, conditions, 10 ** 9).status == "holds":
            return f"{right}  (proved by gradproof derive: {citation})"
    return ""
