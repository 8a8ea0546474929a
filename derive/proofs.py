"""Prove every claim of the chosen models: symbolically at index level, then explicitly."""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable, Sequence

from .claim import Claim
from .results import ClaimResult
from .explicit import check_explicit
from .models import MODELS, ranges_for
from .prover import prove_equal


def prove_claim(claim: Claim) -> ClaimResult:
    start = time.perf_counter()
    ranges = ranges_for(claim)
    proof = prove_equal(claim.derived(), claim.closed, ranges, claim.case.rewrite if claim.case else None)
    explicit = check_explicit(claim, ranges)
    detail = "" if explicit.holds else f"explicit check fails at {explicit.counterexample}"
    return ClaimResult(
        model=claim.model, name=claim.name, equation=claim.equation, statement=claim.statement,
        status="proved" if proof.proved and explicit.holds else "failed",
        seconds=time.perf_counter() - start, symbolic=proof.proved, explicit=explicit.holds,
        explicit_cases=explicit.cases, residual=proof.residual, detail=detail)


def _prove_at(address: tuple[str, int]) -> ClaimResult:
    model, index = address
    return prove_claim(MODELS[model]().claims[index])


def prove_models(names: Iterable[str], jobs: int = 2) -> tuple[ClaimResult, ...]:
    """Results in the models' claim order.  Models are built before the workers fork,
    so each worker inherits them instead of building its own."""
    names = list(names)
    addresses: Sequence[tuple[str, int]] = [(n, q) for n in names for q in range(len(MODELS[n]().claims))]
    if jobs <= 1 or len(addresses) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return tuple(map(_prove_at, addresses))
    # the slowest claims first keeps both workers busy to the end
    order = sorted(range(len(addresses)), key=lambda q: addresses[q][0] != "window")
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        results = pool.map(_prove_at, [addresses[q] for q in order], chunksize=1)
    by_position = dict(zip(order, results))
    return tuple(by_position[q] for q in range(len(addresses)))
