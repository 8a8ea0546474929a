"""The prover proves the true claims and rejects wrong ones, both symbolically and explicitly."""
from dataclasses import replace

import pytest
import sympy as sp
from sympy import IndexedBase, KroneckerDelta, Sum, exp

from gradproof.derive.algebra import Gather, OneHot, Scatter, Sigmoid, Softmax, cell, entry
from gradproof.derive.models import MODELS, K, N, T, U, V, W, c, i, j, m, o, outside, s, samples, v_c
from gradproof.derive.proofs import prove_claim
from gradproof.derive.prover import prove_equal, strip_range_guards


def claim(model, name):
    return next(cl for cl in MODELS[model]().claims if cl.name == name)


p = Softmax(s)
y = OneHot(o, W)
y_hat = Softmax(U.T * v_c)

# Deliberately wrong closed forms: each must be rejected by the symbolic prover AND
# refuted by the explicit check, which must name the index values where it fails.
WRONG = {
    "Jacobian with p_i in place of p_j": (
        "naive-softmax", "softmax Jacobian", entry(p, i) * (KroneckerDelta(i, j) - entry(p, i))),
    "Jacobian sign flipped": (
        "naive-softmax", "softmax Jacobian", -entry(p, i) * (KroneckerDelta(i, j) - entry(p, j))),
    "Jacobian i = j case with a minus sign": (
        "naive-softmax", "softmax Jacobian, i = j", -entry(p, i) * (1 - entry(p, i))),
    "Jacobian i != j case without the minus sign": (
        "naive-softmax", "softmax Jacobian, i != j", entry(p, i) * entry(p, j)),
    "dJ/ds missing -y": ("naive-softmax", "dJ/ds", entry(p, j)),
    "dJ/ds sign flipped": ("naive-softmax", "dJ/ds", entry(y - p, j)),
    "dJ/dv_c missing -y": ("naive-softmax", "dJ/dv_c", entry(U * y_hat, i)),
    "dJ/dv_c sign flipped": ("naive-softmax", "dJ/dv_c", entry(U * (y - y_hat), i)),
    "dJ/dv_c with u_o in place of u_w in the sum": (
        "naive-softmax", "dJ/dv_c, sum form", entry(-U * y, i) + entry(U * y, i) * Sum(entry(y_hat, j), (j, 0, W - 1))),
    "dJ/dU index swapped": ("naive-softmax", "dJ/dU", entry(v_c * (y_hat - y).T, i, j).xreplace({i: j, j: i})),
    "dJ/dU with y used for y_hat": ("naive-softmax", "dJ/dU", sp.S.Zero),
    "dJ/dU missing -y": ("naive-softmax", "dJ/dU", entry(v_c * y_hat.T, i, j)),
    "dJ/dV in the outside word's column": (
        "naive-softmax", "dJ/dV", entry(U * (Softmax(U.T * V * OneHot(c, W)) - y) * y.T, i, j)),
    "dJ/dV = U(y_hat - y) in every column": (
        "naive-softmax", "dJ/dV", entry(U * (Softmax(U.T * V * OneHot(c, W)) - y), i)),
    "SGD update with + eta": (
        "naive-softmax", "SGD update of U", entry(U + sp.Symbol("eta", positive=True) * v_c * (y_hat - y).T, i, j)),
    "neg sampling: sign error on u_k": (
        "neg-sampling", "dJ/dv_c",
        entry((cell(Sigmoid(U.T * v_c), o) - 1) * U * y - Gather(U, samples, K) * Sigmoid(Gather(U, samples, K).T * v_c), i)),
    "neg sampling: missing -u_o": (
        "neg-sampling", "dJ/dv_c", entry(Gather(U, samples, K) * Sigmoid(Gather(U, samples, K).T * v_c), i)),
    "neg sampling: repeats not summed": (
        "neg-sampling", "dJ/du_{w_m}, summed over repeats",
        entry(v_c, i) / (1 + exp(-entry(U.T * v_c, samples[m])))),
    "window: missing factor T": (
        "window", "naive softmax: dJ/dv_c", entry(U * (y_hat - Scatter(sp.OneMatrix(T, 1), outside, W)), i)),
}


@pytest.mark.parametrize("label", sorted(WRONG))
def test_wrong_variant_is_rejected(label):
    model, name, wrong = WRONG[label]
    result = prove_claim(replace(claim(model, name), closed=wrong))
    assert result.status == "failed"
    assert not result.symbolic, "the symbolic prover accepted a wrong closed form"
    assert not result.explicit, "the explicit check accepted a wrong closed form"
    assert "explicit check fails at" in result.detail


def test_every_claim_is_proved_both_ways():
    for make in MODELS.values():
        for cl in make().claims:
            r = prove_claim(cl)
            assert r.symbolic and r.explicit and r.status == "proved", (cl.model, cl.name, r.residual, r.detail)
            assert r.explicit_cases >= 1


def test_claims_cite_seed_equations():
    cited = {eq.strip() for cl in MODELS["naive-softmax"]().claims if cl.equation for eq in cl.equation.split(",")}
    assert {"16", "14", "15", "24", "2", "3", "4", "5", "6", "7", "F4"} <= cited


# -- the normal form's building blocks -------------------------------------------------


k_, l_ = sp.symbols("k l", integer=True)
x = IndexedBase("x")
R = {i: (0, N - 1), j: (0, W - 1)}


def test_sums_over_differently_named_indices_cancel():
    a = Sum(exp(x[k_]) * x[k_], (k_, 0, W - 1))
    b = Sum(exp(x[l_]) * x[l_], (l_, 0, W - 1))
    assert prove_equal(a, b, R).proved


def test_different_summands_do_not_cancel():
    assert not prove_equal(Sum(x[k_], (k_, 0, W - 1)), Sum(x[k_] ** 2, (k_, 0, W - 1)), R).proved


def test_delta_sum_needs_the_index_in_range():
    inside = Sum(KroneckerDelta(k_, j) * x[k_], (k_, 0, W - 1))
    assert prove_equal(inside, x[j], R).proved  # j is declared in [0, W-1]
    partial = Sum(KroneckerDelta(k_, j) * x[k_], (k_, 0, W - 2))
    assert not prove_equal(partial, x[j], R).proved  # j = W-1 falls outside: no proof


def test_only_implied_range_guards_are_stripped():
    guarded = sp.Piecewise((x[j], (j >= 0) & (j <= W - 1)), (0, True))
    assert strip_range_guards(guarded, R) == x[j]
    narrower = sp.Piecewise((x[j], j <= W - 2), (0, True))
    assert strip_range_guards(narrower, R) == narrower


def test_constant_sum_counts_its_terms():
    assert prove_equal(Sum(x[i], (k_, 0, W - 1)), W * x[i], R).proved


def test_logistic_identities_are_rational():
    z = sp.Symbol("z", real=True)
    sig = 1 / (1 + exp(-z))
    assert prove_equal(sp.diff(sig, z), sig * (1 - sig), {}).proved
    assert not prove_equal(sp.diff(sig, z), sig * (1 + sig), {}).proved


def test_no_capture_when_a_bound_name_is_reused():
    # the inner sum binds k too: pulling the outer factor must not confuse the two
    inner = Sum(exp(x[k_]), (k_, 0, W - 1))
    outer = Sum(x[k_] / inner, (k_, 0, W - 1))
    assert prove_equal(outer, Sum(x[l_], (l_, 0, W - 1)) / Sum(exp(x[l_]), (l_, 0, W - 1)), R).proved
