"""The three skip-gram models, each written once in the seed's notation, and their claims.

Notation (column convention): V and U are N x |V| with columns v_w and u_w; x is the
one-hot vector of the center word c, h = V x = v_c, s = U^T v_c, y_hat = softmax(s),
y the one-hot vector of the outside word o, J = -log y_hat_o.  ``W`` stands for |V|.
"""
from __future__ import annotations

from functools import cache

import sympy as sp
from sympy import IndexedBase, KroneckerDelta, Lambda, MatrixSymbol, OneMatrix, Sum, Symbol, log

from .algebra import (Gather, Total, Pick, cell, LogSigmoid, LogSumExp, OneHot, OneHotColumns, Scatter, Sigmoid, Softmax, entry,
                      logistic)
from .algebra import index_form as entry_of
from .claim import Case, Claim, Model


def _size(name):
    return Symbol(name, integer=True, positive=True)


def _index(name):
    return Symbol(name, integer=True, nonnegative=True)


# sizes: embedding N, vocabulary W = |V|, negative samples K, outside words T, batch B
N, W, K, T, B = (_size(n) for n in ("N", "W", "K", "T", "B"))
i, j, c, o, k, m, t, b = (_index(n) for n in ("i", "j", "c", "o", "k", "m", "t", "b"))
eta = Symbol("eta", positive=True)

U = MatrixSymbol("U", N, W)
V = MatrixSymbol("V", N, W)
v_c = MatrixSymbol("v_c", N, 1)
s = MatrixSymbol("s", W, 1)
samples = IndexedBase("w", integer=True)  # the K negative samples of one pair
outside = IndexedBase("o_t", integer=True)  # the T outside words of one window
window_samples = IndexedBase("w_t", integer=True)  # K samples for each outside word
centers = IndexedBase("c_b", integer=True)  # a batch of (center, outside) pairs
outsides = IndexedBase("o_b", integer=True)

# Index ranges the prover may rely on: every vocabulary index lies in [0, W-1].
RANGES = {
    i: (0, N - 1), j: (0, W - 1), c: (0, W - 1), o: (0, W - 1), k: (0, K - 1), m: (0, K - 1),
    t: (0, T - 1), b: (0, B - 1),
    samples: (0, W - 1), outside: (0, W - 1), window_samples: (0, W - 1), centers: (0, W - 1),
    outsides: (0, W - 1),
}
SIZES = (N, W, K, T, B)
ARRAYS = (samples, outside, window_samples, centers, outsides)


def ranges_for(claim: Claim) -> dict:
    """The model's ranges, with the softmax Jacobian's i, j taken over the vocabulary."""
    if claim.name.startswith("softmax Jacobian"):
        return {**RANGES, i: (0, W - 1)}
    return dict(RANGES)


# -- the models as matrix expressions -------------------------------------------------------

x = OneHot(c, W)
h = V * x  # = v_c
y = OneHot(o, W)


def naive_softmax(center, outside_word, U_):
    """(J, s, y_hat) of the naive-softmax loss."""
    scores = U_.T * center
    return -log(entry(Softmax(scores), outside_word)), scores, Softmax(scores)


def neg_sampling(center, outside_word, U_, drawn):
    """J = -log sigma(u_o^T v_c) - sum_k log sigma(-u_{w_k}^T v_c), drawn: k -> w_k."""
    negatives = Gather(U_, drawn, K).T * center
    kk = sp.Dummy("k", integer=True)
    J = -log(logistic(entry(U_.T * center, outside_word))) - Sum(
        log(logistic(-entry(negatives, kk))), (kk, 0, K - 1))
    return J, negatives


def _not_delta(a, b_):
    """Rewrite delta(a, b) to 0: the case a != b."""
    return lambda e: e.replace(lambda q: isinstance(q, KroneckerDelta) and set(q.args) == {a, b_},
                               lambda q: sp.S.Zero)


def _sgd(d, wrt):
    return wrt - eta * d


# -- model 1: skip-gram with a full softmax ----------------------------------------------


@cache
def naive_softmax_model() -> Model:
    J, scores, y_hat = naive_softmax(v_c, o, U)
    JV, _, y_hat_V = naive_softmax(h, o, U)
    p = Softmax(s)
    e = y_hat - y  # the prediction error
    EH = U * (y_hat_V - y)
    name = "naive-softmax"
    claims = (
        Claim(name, "softmax Jacobian", "16", r"\frac{\partial p_i}{\partial s_j} = p_i(\delta_{ij} - p_j)",
              entry(p, i), IndexedBase("s")[j], entry(p, i) * (KroneckerDelta(i, j) - entry(p, j))),
        Claim(name, "softmax Jacobian, i = j", "14", r"\frac{\partial p_i}{\partial s_i} = p_i(1 - p_i)",
              entry(p, i), IndexedBase("s")[j], entry(p, i) * (1 - entry(p, i)),
              case=Case("i = j", lambda d: d.xreplace({j: i}), lambda v: v["i"] == v["j"])),
        Claim(name, "softmax Jacobian, i != j", "15", r"\frac{\partial p_i}{\partial s_j} = -p_i p_j",
              entry(p, i), IndexedBase("s")[j], -entry(p, i) * entry(p, j),
              case=Case("i != j", _not_delta(i, j), lambda v: v["i"] != v["j"])),
        Claim(name, "loss as log-sum-exp", "F4", r"J = -\mathbf{u}_o^\top \mathbf{v}_c + \log \sum_w \exp(\mathbf{u}_w^\top \mathbf{v}_c)",
              J, None, -entry(scores, o) + entry(LogSumExp(scores), 0, 0),
              matrix=cell(LogSumExp(scores), 0) - cell(scores, o)),
        Claim(name, "dJ/ds", "24", r"\frac{\partial J}{\partial \mathbf{s}} = \hat{\mathbf{y}} - \mathbf{y}",
              -log(entry(p, o)), IndexedBase("s")[j], entry(p - y, j), matrix=p - y),
        Claim(name, "dJ/dv_c, sum form", "2", r"\frac{\partial J}{\partial \mathbf{v}_c} = -\mathbf{u}_o + \sum_w \hat{y}_w \mathbf{u}_w",
              J, IndexedBase("v_c")[i], entry(-U * y + U * y_hat, i)),
        Claim(name, "dJ/dv_c", "3", r"\frac{\partial J}{\partial \mathbf{v}_c} = U(\hat{\mathbf{y}} - \mathbf{y})",
              J, IndexedBase("v_c")[i], entry(U * e, i), matrix=U * e),
        Claim(name, "dJ/dU", "4, 5", r"\frac{\partial J}{\partial u_{ij}} = (\hat{y}_j - y_j)\, v_{c,i},\quad \frac{\partial J}{\partial U} = \mathbf{v}_c (\hat{\mathbf{y}} - \mathbf{y})^\top",
              J, IndexedBase("U")[i, j], entry(v_c * e.T, i, j), matrix=v_c * e.T),
        Claim(name, "dJ/du_w, w = o", "6", r"\frac{\partial J}{\partial \mathbf{u}_o} = (\hat{y}_o - 1)\mathbf{v}_c",
              J, IndexedBase("U")[i, j], (entry(y_hat, o) - 1) * entry(v_c, i),
              case=Case("j = o", lambda d: d.xreplace({j: o}), lambda v: v["j"] == v["o"])),
        Claim(name, "dJ/du_w, w != o", "6", r"\frac{\partial J}{\partial \mathbf{u}_w} = \hat{y}_w \mathbf{v}_c \quad (w \neq o)",
              J, IndexedBase("U")[i, j], entry(y_hat, j) * entry(v_c, i),
              case=Case("j != o", _not_delta(j, o), lambda v: v["j"] != v["o"])),
        Claim(name, "dJ/dV", None, r"\frac{\partial J}{\partial V} = EH\, \mathbf{x}^\top,\quad EH = U(\hat{\mathbf{y}} - \mathbf{y})",
              JV, IndexedBase("V")[i, j], entry(EH * x.T, i, j), matrix=EH * x.T),
        Claim(name, "dJ/dV, column j != c", None, r"\frac{\partial J}{\partial V_{ij}} = 0 \quad (j \neq c)",
              JV, IndexedBase("V")[i, j], sp.S.Zero,
              case=Case("j != c", _not_delta(j, c), lambda v: v["j"] != v["c"])),
        Claim(name, "SGD update of U", "7", r"u_{ij}^{new} = u_{ij} - \eta\,(\hat{y}_j - y_j)\, v_{c,i}",
              J, IndexedBase("U")[i, j], entry(U - eta * v_c * e.T, i, j), post=_sgd),
        Claim(name, "SGD update of v_c", None, r"\mathbf{v}_c^{new} = \mathbf{v}_c - \eta\, U(\hat{\mathbf{y}} - \mathbf{y})",
              J, IndexedBase("v_c")[i], entry(v_c - eta * U * e, i), post=_sgd),
    )
    return Model(name, "skip-gram, naive softmax", r"J = -\log \hat{y}_o,\ \hat{\mathbf{y}} = \mathrm{softmax}(U^\top \mathbf{v}_c)", claims)


# -- model 2: skip-gram with negative sampling --------------------------------------------


def neg_sampling_closed(center, outside_word, U_, drawn):
    """(dJ/dv_c, dJ/dU) in matrix form for one pair; drawn: k -> w_k."""
    negatives = Gather(U_, drawn, K).T * center
    sig_o = cell(Sigmoid(U_.T * center), outside_word)
    grad_v = (sig_o - 1) * U_ * OneHot(outside_word, W) + Gather(U_, drawn, K) * Sigmoid(negatives)
    grad_U = center * ((sig_o - 1) * OneHot(outside_word, W) + Scatter(Sigmoid(negatives), drawn, W)).T
    return grad_v, grad_U


@cache
def neg_sampling_model() -> Model:
    J, negatives = neg_sampling(v_c, o, U, samples)
    grad_v, grad_U = neg_sampling_closed(v_c, o, U, samples)
    z = Symbol("z", real=True)
    s_o = entry(U.T * v_c, o)
    o_not_sampled = Case("o not among the samples",
                         lambda d: d.replace(lambda q: isinstance(q, KroneckerDelta) and o in q.args and any(
                             isinstance(a, sp.Indexed) and a.base == samples for a in q.args), lambda q: sp.S.Zero),
                         lambda v: v["o"] not in v["w"])
    name = "neg-sampling"
    loss_form = -cell(LogSigmoid(U.T * v_c), o) - cell(Total(LogSigmoid(-negatives)), 0)
    claims = (
        Claim(name, "loss in log-sigmoid form", None, r"J = -\log\sigma(s_o) - \mathbf{1}^\top \log\sigma(-U_{:,w}^\top \mathbf{v}_c)",
              J, None, entry_of(loss_form), matrix=loss_form),
        Claim(name, "sigmoid derivative", None, r"\sigma'(z) = \sigma(z)(1 - \sigma(z))",
              logistic(z), z, logistic(z) * (1 - logistic(z))),
        Claim(name, "log-sigmoid derivative", None, r"\frac{d}{dz}\log\sigma(z) = 1 - \sigma(z)",
              log(logistic(z)), z, 1 - logistic(z)),
        Claim(name, "dJ/dv_c", None, r"\frac{\partial J}{\partial \mathbf{v}_c} = (\sigma(\mathbf{u}_o^\top \mathbf{v}_c) - 1)\mathbf{u}_o + \sum_{k=1}^K \sigma(\mathbf{u}_{w_k}^\top \mathbf{v}_c)\,\mathbf{u}_{w_k}",
              J, IndexedBase("v_c")[i], entry(grad_v, i), matrix=grad_v),
        Claim(name, "dJ/dU", None, r"\frac{\partial J}{\partial U} = \mathbf{v}_c\big((\sigma(s_o) - 1)\mathbf{y} + \textstyle\sum_k \sigma(\mathbf{u}_{w_k}^\top \mathbf{v}_c)\, \mathbf{e}_{w_k}\big)^\top",
              J, IndexedBase("U")[i, j], entry(grad_U, i, j), matrix=grad_U),
        Claim(name, "dJ/du_o", None, r"\frac{\partial J}{\partial \mathbf{u}_o} = (\sigma(\mathbf{u}_o^\top \mathbf{v}_c) - 1)\,\mathbf{v}_c \quad (o \notin \lbrace w_k \rbrace)",
              J, IndexedBase("U")[i, o], (logistic(s_o) - 1) * entry(v_c, i), case=o_not_sampled),
        Claim(name, "dJ/du_{w_m}, summed over repeats", None,
              r"\frac{\partial J}{\partial \mathbf{u}_{w_m}} = n_m\, \sigma(\mathbf{u}_{w_m}^\top \mathbf{v}_c)\,\mathbf{v}_c,\ n_m = \sum_k \delta_{w_k w_m} \quad (o \notin \lbrace w_k \rbrace)",
              J, IndexedBase("U")[i, samples[m]],
              Sum(KroneckerDelta(samples[m], samples[k]), (k, 0, K - 1)) * logistic(entry(U.T * v_c, samples[m])) * entry(v_c, i),
              case=o_not_sampled),
        Claim(name, "SGD update of v_c", None, r"\mathbf{v}_c^{new} = \mathbf{v}_c - \eta\,\frac{\partial J}{\partial \mathbf{v}_c}",
              J, IndexedBase("v_c")[i], entry(v_c - eta * grad_v, i), post=_sgd),
    )
    loss = r"J = -\log\sigma(\mathbf{u}_o^\top \mathbf{v}_c) - \sum_{k=1}^K \log\sigma(-\mathbf{u}_{w_k}^\top \mathbf{v}_c)"
    return Model(name, "skip-gram, negative sampling", loss, claims)


# -- model 3: the window objective, and batches of pairs ----------------------------------


@cache
def window_model() -> Model:
    name = "window"
    tt = sp.Dummy("t", integer=True)
    J_naive = Sum(naive_softmax(v_c, outside[tt], U)[0], (tt, 0, T - 1))
    y_hat = Softmax(U.T * v_c)
    counts = Scatter(OneMatrix(T, 1), outside, W)  # sum_t y_t: how often each word is an outside word
    e_sum = T * y_hat - counts
    drawn = Lambda(k, window_samples[tt, k])
    J_neg = Sum(neg_sampling(v_c, outside[tt], U, drawn)[0], (tt, 0, T - 1))
    g_v, g_U = neg_sampling_closed(v_c, outside[tt], U, drawn)
    # a batch: B independent (center, outside) pairs, centers' vectors gathered from V
    Vc = Gather(V, centers, B)
    P = Softmax(U.T * Vc)
    E = P - OneHotColumns(outsides, W, B)
    bb = sp.Dummy("b", integer=True)
    J_batch = Sum(naive_softmax(Gather(V, centers, B) * OneHot(bb, B), outsides[bb], U)[0], (bb, 0, B - 1))
    scores = U.T * v_c
    window_loss = T * cell(LogSumExp(scores), 0) - cell(Total(Gather(scores.T, outside, T)), 0)
    S_ = U.T * Vc
    batch_loss = cell(Total(LogSumExp(S_) - Pick(S_, outsides)), 0)
    claims = (
        Claim(name, "naive softmax: loss", None, r"J = T \log\sum_w \exp(s_w) - \sum_t s_{o_t}",
              J_naive, None, entry_of(window_loss), matrix=window_loss),
        Claim(name, "naive softmax: dJ/dv_c", None, r"\frac{\partial J}{\partial \mathbf{v}_c} = \sum_t U(\hat{\mathbf{y}} - \mathbf{y}_t) = U\big(T\hat{\mathbf{y}} - \textstyle\sum_t \mathbf{y}_t\big)",
              J_naive, IndexedBase("v_c")[i], entry(U * e_sum, i), matrix=U * e_sum),
        Claim(name, "naive softmax: dJ/dU", None, r"\frac{\partial J}{\partial U} = \mathbf{v}_c \big(T\hat{\mathbf{y}} - \textstyle\sum_t \mathbf{y}_t\big)^\top",
              J_naive, IndexedBase("U")[i, j], entry(v_c * e_sum.T, i, j), matrix=v_c * e_sum.T),
        Claim(name, "neg sampling: dJ/dv_c", None, r"\frac{\partial J}{\partial \mathbf{v}_c} = \sum_t \frac{\partial J_{neg}(o_t)}{\partial \mathbf{v}_c}",
              J_neg, IndexedBase("v_c")[i], Sum(entry(g_v, i), (tt, 0, T - 1))),
        Claim(name, "neg sampling: dJ/dU", None, r"\frac{\partial J}{\partial U} = \sum_t \frac{\partial J_{neg}(o_t)}{\partial U}",
              J_neg, IndexedBase("U")[i, j], Sum(entry(g_U, i, j), (tt, 0, T - 1))),
        Claim(name, "batch: loss", None, r"J = \sum_b \big(\log\sum_w \exp(S_{wb}) - S_{o_b b}\big),\ S = U^\top V_{c_b}",
              J_batch, None, entry_of(batch_loss), matrix=batch_loss),
        Claim(name, "batch: dJ/dU", None, r"\frac{\partial}{\partial U}\sum_b J_b = V_{c_b} (P - Y)^\top",
              J_batch, IndexedBase("U")[i, j], entry(Vc * E.T, i, j), matrix=Vc * E.T),
        Claim(name, "batch: dJ/dV", None, r"\frac{\partial}{\partial V}\sum_b J_b = \mathrm{scatter}_{c_b}\big(U (P - Y)\big)",
              J_batch, IndexedBase("V")[i, j], entry(Scatter((U * E).T, centers, W).T, i, j),
              matrix=Scatter((U * E).T, centers, W).T),
    )
    loss = r"J = \sum_{t=1}^{T} J(\mathbf{v}_c, o_t, U)"
    return Model(name, "the window objective (and batches of pairs)", loss, claims)


MODELS = {"naive-softmax": naive_softmax_model, "neg-sampling": neg_sampling_model, "window": window_model}
