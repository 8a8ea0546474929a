"""Tests for the generated NumPy reference module derive/reference.py.

What is established here (every check compares against something computed independently in
this file, never against derive/ itself):

1. Every gradient of every loss function agrees with a Richardson-extrapolated central finite
   difference (written below) to 1e-7 relative error, in both the column convention
   (U, V are N x |V|) and the course row convention (outsideVectors is |V| x N), on several
   fixed seeds and on hypothesis-drawn sizes/seeds.  Negative sampling uses a replaying
   dataset so that the loss is a deterministic function of the vectors.
2. Extreme scores (|score| up to 5000): no overflow / invalid / divide-by-zero floating point
   events and no warnings, finite outputs, and loss and gradients match a 50-digit mpmath
   computation of the analytic answer.  sigmoid is exact at 0 and +-1000.
3. The conventions and the aggregate functions agree with one another.
4. Structurally, no loss function loops in Python (only getNegativeSamples, over K, and
   skipgram, over the window, do).
5. The public CS224n a2 sanity numbers for skipgram + naiveSoftmaxLossAndGradient.

Note on floating point events: exp(x - max) necessarily *underflows* to 0 for scores ~1000
below the maximum (the correctly rounded result), so the strict blocks raise on overflow,
invalid and divide but ignore underflow.
"""
import ast
import inspect
import itertools
import random
import textwrap
import warnings
from contextlib import contextmanager

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from gradproof.derive import reference as ref

mpmath.mp.dps = 50

FD_TOL = 1e-7          # required relative agreement with finite differences
SEEDS = [0, 1, 2, 3]


# ----------------------------------------------------------------------------------------
# Helpers: finite differences, error measure, strict floating point, replay dataset
# ----------------------------------------------------------------------------------------

def fd_gradient(f, x, h=1e-3):
    """Richardson-extrapolated central difference of scalar f at array x (float64).

    D(h) = (f(x+h) - f(x-h)) / 2h has error c2 h^2 + c4 h^4 + ...;
    (4 D(h/2) - D(h)) / 3 cancels the h^2 term.  The actual step after rounding x +- h
    is used in the denominator.
    """
    x = np.array(x, dtype=np.float64)
    g = np.empty_like(x)

    def central(idx, step):
        xp = x.copy()
        xm = x.copy()
        xp[idx] += step
        xm[idx] -= step
        return (float(f(xp)) - float(f(xm))) / (xp[idx] - xm[idx])

    for idx in np.ndindex(x.shape):
        step = h * max(1.0, abs(x[idx]))
        g[idx] = (4.0 * central(idx, step / 2.0) - central(idx, step)) / 3.0
    return g


def rel_err(analytic, reference):
    """max |a - r| / max(1, max |r|)  (robust to tiny or zero reference entries)."""
    a = np.asarray(analytic, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    assert a.shape == r.shape, (a.shape, r.shape)
    return float(np.max(np.abs(a - r)) / max(1.0, float(np.max(np.abs(r)))))


@contextmanager
def strict_fp():
    """Raise on overflow / invalid / divide-by-zero and turn every warning into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            yield


class ReplayDataset:
    """sampleTokenIdx() replays a fixed sequence (cycling); reset() rewinds it."""

    def __init__(self, seq):
        self.seq = list(seq)
        self.reset()

    def reset(self):
        self._it = itertools.cycle(self.seq)
        self.draws = 0

    def sampleTokenIdx(self):
        self.draws += 1
        return next(self._it)


def expected_negatives(seq, outside_idxs, K):
    """The K samples per outside word that the course code should draw from the cycled seq
    (skipping the current outside word), consumed consecutively across outside words."""
    stream = itertools.cycle(seq)
    out = []
    for o in outside_idxs:
        w = []
        while len(w) < K:
            x = next(stream)
            if x != o:
                w.append(x)
        out.append(w)
    return out


# A replay sequence for outside word O_NEG: contains O_NEG (must be skipped) and repeats.
O_NEG = 2
NEG_SEQ = [3, 2, 5, 3, 3, 2, 2, 0, 6, 1, 5, 4, 2, 0, 0, 6, 3, 1]
K_NEG = 10


# ----------------------------------------------------------------------------------------
# Independent 50-digit reference (column convention), written from the math only
# ----------------------------------------------------------------------------------------

def _mp(a):
    return [mpmath.mpf(float(x)) for x in np.ravel(a)]


def mp_scores(v, U):
    N, W = U.shape
    vm = _mp(v)
    return [mpmath.fsum(mpmath.mpf(float(U[k, j])) * vm[k] for k in range(N)) for j in range(W)]


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def mp_naive(v, o, U):
    """J = log sum_w exp(u_w.v) - u_o.v ; dJ/dv = U e ; dJ/dU = v e^T, e = softmax - onehot."""
    N, W = U.shape
    s = mp_scores(v, U)
    lse = mpmath.log(mpmath.fsum(mpmath.exp(sj) for sj in s))
    loss = lse - s[o]
    e = [mpmath.exp(s[j] - lse) - (1 if j == o else 0) for j in range(W)]
    g_v = np.array([float(mpmath.fsum(mpmath.mpf(float(U[k, j])) * e[j] for j in range(W)))
                    for k in range(N)])
    g_U = np.array([[float(mpmath.mpf(float(v[k])) * e[j]) for j in range(W)] for k in range(N)])
    return loss, g_v, g_U


def mp_neg(v, o, U, w):
    """J = -log s(u_o.v) - sum_k log s(-u_wk.v), repeated w_k count repeatedly."""
    N, W = U.shape
    s = mp_scores(v, U)
    loss = mpmath.log(1 + mpmath.exp(-s[o])) + mpmath.fsum(mpmath.log(1 + mpmath.exp(s[k])) for k in w)
    coef = [mpmath.mpf(0)] * W
    coef[o] += mp_sigmoid(s[o]) - 1
    for k in w:
        coef[k] += mp_sigmoid(s[k])
    g_v = np.array([float(mpmath.fsum(mpmath.mpf(float(U[k, j])) * coef[j] for j in range(W)))
                    for k in range(N)])
    g_U = np.array([[float(mpmath.mpf(float(v[k])) * coef[j]) for j in range(W)] for k in range(N)])
    return loss, g_v, g_U


def mp_window(v, o_t, U):
    parts = [mp_naive(v, o, U) for o in o_t]
    loss = mpmath.fsum(p[0] for p in parts)
    # sum gradient parts in high precision too (they are already float-rounded individually,
    # each to 1 ulp; summing T of them is accurate to ~T ulp of the magnitude)
    g_v = sum(p[1] for p in parts)
    g_U = sum(p[2] for p in parts)
    return loss, g_v, g_U


# ----------------------------------------------------------------------------------------
# Input generators
# ----------------------------------------------------------------------------------------

def random_inputs(seed, N=5, W=8):
    rng = np.random.default_rng(seed)
    return rng, rng.standard_normal((N, W)), rng.standard_normal((N, W))


def gradient_cases(seed, N=5, W=8):
    """(name, loss-and-gradient function of named params, params, param names in gradient order).

    Each function returns (loss, *grads) with grads in the order of the param names.
    """
    rng, U, V = random_inputs(seed, N, W)
    v_c = rng.standard_normal(N)
    o = int(rng.integers(W))
    c = int(rng.integers(W))
    o_t = [int(x) for x in rng.integers(W, size=5)] + [o]           # has a repeat
    c_b = [c, c] + [int(x) for x in rng.integers(W, size=3)]         # repeated centre
    o_b = [int(x) for x in rng.integers(W, size=len(c_b))]
    w = [o, 3 % W, 3 % W, 0, W - 1, o]                               # repeats, o included
    assert O_NEG < W and max(NEG_SEQ) < W

    ds_neg = ReplayDataset(NEG_SEQ)

    def course_neg(centerWordVec, outsideVectors):
        ds_neg.reset()
        return ref.negSamplingLossAndGradient(centerWordVec, O_NEG, outsideVectors, ds_neg, K=K_NEG)

    words = [chr(ord("a") + i) for i in range(W)]
    word2Ind = {wd: i for i, wd in enumerate(words)}
    outside_words = [words[i] for i in o_t]
    ds_sg = ReplayDataset(NEG_SEQ)

    def sg(loss_fn):
        def run(centerWordVectors, outsideVectors):
            ds_sg.reset()
            return ref.skipgram(words[c], 3, outside_words, word2Ind, centerWordVectors,
                                outsideVectors, ds_sg, loss_fn)
        return run

    return [
        ("naive_softmax_loss_and_gradients",
         lambda v_c, U: ref.naive_softmax_loss_and_gradients(v_c, o, U),
         {"v_c": v_c, "U": U}, ["v_c", "U"]),
        ("skipgram_pair_loss_and_gradients",
         lambda V, U: ref.skipgram_pair_loss_and_gradients(c, o, V, U),
         {"V": V, "U": U}, ["V", "U"]),
        ("neg_sampling_loss_and_gradients",
         lambda v_c, U: ref.neg_sampling_loss_and_gradients(v_c, o, U, w),
         {"v_c": v_c, "U": U}, ["v_c", "U"]),
        ("window_naive_softmax_loss_and_gradients",
         lambda v_c, U: ref.window_naive_softmax_loss_and_gradients(v_c, o_t, U),
         {"v_c": v_c, "U": U}, ["v_c", "U"]),
        ("batch_naive_softmax_loss_and_gradients",
         lambda V, U: ref.batch_naive_softmax_loss_and_gradients(c_b, o_b, V, U),
         {"V": V, "U": U}, ["V", "U"]),
        ("naiveSoftmaxLossAndGradient",
         lambda centerWordVec, outsideVectors: ref.naiveSoftmaxLossAndGradient(
             centerWordVec, o, outsideVectors, None),
         {"centerWordVec": v_c, "outsideVectors": U.T.copy()}, ["centerWordVec", "outsideVectors"]),
        ("negSamplingLossAndGradient",
         course_neg,
         {"centerWordVec": v_c, "outsideVectors": U.T.copy()}, ["centerWordVec", "outsideVectors"]),
        ("naiveSoftmaxLossAndGradientBatch",
         lambda centerWordVecs, outsideVectors: ref.naiveSoftmaxLossAndGradientBatch(
             centerWordVecs, o_b, outsideVectors),
         {"centerWordVecs": V[:, c_b].T.copy(), "outsideVectors": U.T.copy()},
         ["centerWordVecs", "outsideVectors"]),
        ("skipgram[naiveSoftmax]",
         sg(ref.naiveSoftmaxLossAndGradient),
         {"centerWordVectors": V.T.copy(), "outsideVectors": U.T.copy()},
         ["centerWordVectors", "outsideVectors"]),
        ("skipgram[negSampling]",
         sg(ref.negSamplingLossAndGradient),
         {"centerWordVectors": V.T.copy(), "outsideVectors": U.T.copy()},
         ["centerWordVectors", "outsideVectors"]),
    ]


CASE_NAMES = [name for name, *_ in gradient_cases(0)]


def check_case_against_fd(fn, params, order):
    """Return the worst FD relative error over all gradients; asserts shapes and no mutation."""
    before = {k: np.array(v, copy=True) for k, v in params.items()}
    out = fn(**params)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k], err_msg=f"{k} was mutated")
    loss, grads = out[0], out[1:]
    assert np.ndim(loss) == 0 and np.isfinite(loss)
    assert len(grads) == len(order)
    worst = 0.0
    for name, g in zip(order, grads):
        assert np.shape(g) == np.shape(params[name]), (name, np.shape(g), np.shape(params[name]))

        def f(x, name=name):
            return fn(**{**params, name: x})[0]

        err = rel_err(g, fd_gradient(f, params[name]))
        assert err < FD_TOL, f"gradient wrt {name}: relative error {err:.3e}"
        worst = max(worst, err)
    return worst


# ----------------------------------------------------------------------------------------
# 1. Finite differences, both conventions
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", CASE_NAMES)
def test_gradients_match_richardson_finite_differences(case, seed):
    (name, fn, params, order), = [c for c in gradient_cases(seed) if c[0] == case]
    check_case_against_fd(fn, params, order)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(N=st.integers(4, 6), W=st.integers(7, 9), seed=st.integers(0, 2**32 - 1))
def test_gradients_match_finite_differences_property(N, W, seed):
    for name, fn, params, order in gradient_cases(seed, N, W):
        check_case_against_fd(fn, params, order)


def test_fd_checker_is_sensitive():
    """The checker itself must reject a gradient that is off by 1e-6 (relative) in one entry,
    and a plausible wrong formula (softmax without the one-hot)."""
    rng, U, _ = random_inputs(7)
    v = rng.standard_normal(U.shape[0])
    loss, g_v, g_U = ref.naive_softmax_loss_and_gradients(v, 1, U)
    num = fd_gradient(lambda x: ref.naive_softmax_loss_and_gradients(v, 1, x)[0], U)
    assert rel_err(g_U, num) < FD_TOL
    bad = g_U.copy()
    bad[0, 0] += 1e-6 * max(1.0, np.max(np.abs(num)))
    assert rel_err(bad, num) > FD_TOL
    s = U.T @ v
    p = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    assert rel_err(np.outer(v, p), num) > FD_TOL


def test_negative_sampling_replay_premises_and_skipping():
    """The replay sequence really contains the outside word and repeats; the course function
    skips the outside word and counts repeats (checked against mpmath with the expected draws)."""
    assert O_NEG in NEG_SEQ
    (w,) = expected_negatives(NEG_SEQ, [O_NEG], K_NEG)
    assert O_NEG not in w and len(set(w)) < len(w)
    ds = ReplayDataset(NEG_SEQ)
    assert ref.getNegativeSamples(O_NEG, ds, K_NEG) == w
    assert ds.draws == K_NEG + NEG_SEQ[:ds.draws].count(O_NEG)

    rng, U, _ = random_inputs(11)
    v = rng.standard_normal(U.shape[0])
    ds.reset()
    loss, g_v, g_out = ref.negSamplingLossAndGradient(v, O_NEG, U.T.copy(), ds, K=K_NEG)
    e_loss, e_v, e_U = mp_neg(v, O_NEG, U, w)
    assert abs(loss - float(e_loss)) <= 1e-13 * max(1.0, abs(float(e_loss)))
    assert rel_err(g_v, e_v) < 1e-13
    assert rel_err(g_out, e_U.T) < 1e-13
    # row of a word never sampled and not the outside word is exactly zero
    for j in range(U.shape[1]):
        if j not in w and j != O_NEG:
            assert np.all(g_out[j] == 0.0)


# ----------------------------------------------------------------------------------------
# 2. Extreme scores
# ----------------------------------------------------------------------------------------

def extreme_inputs(seed, scale, N=5, W=9, n_centres=3):
    """U = [A, -A, small] so scores come in +- pairs; each centre vector scaled so that its
    largest |score| is exactly `scale` (hence scores reach +scale and -scale)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((N, W // 2))
    extra = 0.1 * rng.standard_normal((N, W - 2 * (W // 2)))
    U = np.concatenate([A, -A, extra], axis=1)
    V = rng.standard_normal((N, W))
    for j in range(W):
        V[:, j] *= scale / np.max(np.abs(U.T @ V[:, j]))
    return U, V


def assert_finite(*arrays):
    for a in arrays:
        assert np.all(np.isfinite(a)), a


def assert_loss_close(loss, exact, scale_sum):
    """Absolute error bound ~ a few hundred ulp of the largest score magnitude involved."""
    exact = float(exact)
    tol = 1e-13 * (1.0 + scale_sum)
    assert abs(float(loss) - exact) <= tol, (float(loss), exact, tol)


def grad_tol(scale):
    """Gradient tolerance for scores of magnitude `scale`: the float scores themselves carry
    an error of order eps * scale, which the exact gradient inherits (observed <= 2e-16 * scale)."""
    return 4e-15 * (1.0 + scale)

SCALES = [700.0, 1000.0, 5000.0]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("seed", [0, 1])
def test_extreme_naive_softmax_both_conventions(seed, scale):
    U, V = extreme_inputs(seed, scale)
    v = V[:, 0]
    s = U.T @ v
    assert np.isclose(s.max(), scale) and np.isclose(s.min(), -scale)
    for o in [int(np.argmax(s)), int(np.argmin(s)), 4]:
        e_loss, e_v, e_U = mp_naive(v, o, U)
        with strict_fp():
            loss, g_v, g_U = ref.naive_softmax_loss_and_gradients(v, o, U)
            r_loss, r_v, r_out = ref.naiveSoftmaxLossAndGradient(v, o, U.T.copy(), None)
        assert_finite(loss, g_v, g_U, r_loss, r_v, r_out)
        assert_loss_close(loss, e_loss, scale)
        assert_loss_close(r_loss, e_loss, scale)
        # the exact analytic gradient U (softmax(s) - onehot), v (softmax(s) - onehot)^T
        assert rel_err(g_v, e_v) < grad_tol(scale)
        assert rel_err(g_U, e_U) < grad_tol(scale)
        assert rel_err(r_v, e_v) < grad_tol(scale)
        assert rel_err(r_out, e_U.T) < grad_tol(scale)
    # o at the minimum: loss ~ 2 * scale, o at the maximum: loss ~ 0
    assert float(mp_naive(v, int(np.argmin(s)), U)[0]) > 1.9 * scale


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("seed", [0, 1])
def test_extreme_pair_window_batch(seed, scale):
    U, V = extreme_inputs(seed, scale)
    W = U.shape[1]
    c = 2
    s = U.T @ V[:, c]
    o_t = [int(np.argmin(s)), int(np.argmax(s)), int(np.argmin(s)), 1]
    c_b = [2, 2, 5, 0]
    o_b = [int(np.argmin(U.T @ V[:, 2])), 3, int(np.argmax(U.T @ V[:, 5])), int(np.argmin(U.T @ V[:, 0]))]
    with strict_fp():
        p_loss, p_V, p_U = ref.skipgram_pair_loss_and_gradients(c, o_t[0], V, U)
        w_loss, w_v, w_U = ref.window_naive_softmax_loss_and_gradients(V[:, c], o_t, U)
        b_loss, b_V, b_U = ref.batch_naive_softmax_loss_and_gradients(c_b, o_b, V, U)
        rb_loss, rb_C, rb_out = ref.naiveSoftmaxLossAndGradientBatch(V[:, c_b].T.copy(), o_b, U.T.copy())
    assert_finite(p_loss, p_V, p_U, w_loss, w_v, w_U, b_loss, b_V, b_U, rb_loss, rb_C, rb_out)

    e_loss, e_v, e_U = mp_naive(V[:, c], o_t[0], U)
    assert_loss_close(p_loss, e_loss, scale)
    e_V = np.zeros_like(V)
    e_V[:, c] = e_v
    assert rel_err(p_V, e_V) < grad_tol(scale)
    assert rel_err(p_U, e_U) < grad_tol(scale)

    e_loss, e_v, e_U = mp_window(V[:, c], o_t, U)
    assert_loss_close(w_loss, e_loss, scale * len(o_t))
    assert rel_err(w_v, e_v) < grad_tol(scale)
    assert rel_err(w_U, e_U) < grad_tol(scale)

    parts = [mp_naive(V[:, cb], ob, U) for cb, ob in zip(c_b, o_b)]
    e_loss = mpmath.fsum(p[0] for p in parts)
    e_V = np.zeros_like(V)
    for cb, p in zip(c_b, parts):
        e_V[:, cb] += p[1]
    e_U = sum(p[2] for p in parts)
    assert_loss_close(b_loss, e_loss, scale * len(c_b))
    assert_loss_close(rb_loss, e_loss, scale * len(c_b))
    assert rel_err(b_V, e_V) < grad_tol(scale)
    assert rel_err(b_U, e_U) < grad_tol(scale)
    assert rel_err(rb_C, np.array([p[1] for p in parts])) < grad_tol(scale)
    assert rel_err(rb_out, e_U.T) < grad_tol(scale)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("seed", [0, 1])
def test_extreme_negative_sampling_both_conventions(seed, scale):
    U, V = extreme_inputs(seed, scale)
    v = V[:, 3]
    s = U.T @ v
    hi, lo = int(np.argmax(s)), int(np.argmin(s))
    for o in [lo, hi]:
        other = hi if o == lo else lo
        x = U.shape[1] - 1                     # the small extra column, score ~ 0
        w = [other, other, o, x, other]        # +-scale scores, repeats, o itself sampled
        e_loss, e_v, e_U = mp_neg(v, o, U, w)
        seq = [o, other, other, o, x, other]   # course: o skipped -> draws [other, other, x, other]
        ds = ReplayDataset(seq)
        (w_course,) = expected_negatives(seq, [o], 4)
        assert w_course == [other, other, x, other]
        ce_loss, ce_v, ce_U = mp_neg(v, o, U, w_course)
        with strict_fp():
            loss, g_v, g_U = ref.neg_sampling_loss_and_gradients(v, o, U, w)
            r_loss, r_v, r_out = ref.negSamplingLossAndGradient(v, o, U.T.copy(), ds, K=4)
        assert_finite(loss, g_v, g_U, r_loss, r_v, r_out)
        assert_loss_close(loss, e_loss, scale * len(w))
        assert_loss_close(r_loss, ce_loss, scale * 4)
        assert rel_err(g_v, e_v) < grad_tol(scale)
        assert rel_err(g_U, e_U) < grad_tol(scale)
        assert rel_err(r_v, ce_v) < grad_tol(scale)
        assert rel_err(r_out, ce_U.T) < grad_tol(scale)
        if o == lo:
            assert float(e_loss) > 3 * scale  # really in the saturated regime


@pytest.mark.parametrize("scale", [1000.0])
def test_extreme_skipgram_both_loss_functions(scale):
    U, V = extreme_inputs(5, scale)
    W = U.shape[1]
    words = [chr(ord("a") + i) for i in range(W)]
    word2Ind = {wd: i for i, wd in enumerate(words)}
    c = 4
    s = U.T @ V[:, c]
    o_t = [int(np.argmin(s)), int(np.argmax(s)), 0, int(np.argmin(s))]
    seq = [int(np.argmax(s)), int(np.argmin(s)), 2, 2, 7]
    ds = ReplayDataset(seq)
    with strict_fp():
        n_loss, n_C, n_O = ref.skipgram(words[c], 2, [words[i] for i in o_t], word2Ind,
                                        V.T.copy(), U.T.copy(), ds, ref.naiveSoftmaxLossAndGradient)
        ds.reset()
        g_loss, g_C, g_O = ref.skipgram(words[c], 2, [words[i] for i in o_t], word2Ind,
                                        V.T.copy(), U.T.copy(), ds, ref.negSamplingLossAndGradient)
    assert_finite(n_loss, n_C, n_O, g_loss, g_C, g_O)

    e_loss, e_v, e_U = mp_window(V[:, c], o_t, U)
    e_C = np.zeros((W, U.shape[0]))
    e_C[c] = e_v
    assert_loss_close(n_loss, e_loss, scale * len(o_t))
    assert rel_err(n_C, e_C) < grad_tol(scale)
    assert rel_err(n_O, e_U.T) < grad_tol(scale)

    parts = [mp_neg(V[:, c], o, U, w) for o, w in zip(o_t, expected_negatives(seq, o_t, 10))]
    e_C = np.zeros((W, U.shape[0]))
    e_C[c] = sum(p[1] for p in parts)
    assert_loss_close(g_loss, mpmath.fsum(p[0] for p in parts), scale * 10 * len(o_t))
    assert rel_err(g_C, e_C) < grad_tol(scale)
    assert rel_err(g_O, sum(p[2] for p in parts).T) < grad_tol(scale)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1.0, 5000.0), o=st.integers(0, 8))
def test_extreme_naive_softmax_property(seed, scale, o):
    U, V = extreme_inputs(seed, scale)
    v = V[:, 0]
    with strict_fp():
        loss, g_v, g_U = ref.naive_softmax_loss_and_gradients(v, o, U)
    e_loss, e_v, e_U = mp_naive(v, o, U)
    assert_finite(loss, g_v, g_U)
    assert_loss_close(loss, e_loss, scale)
    assert rel_err(g_v, e_v) < grad_tol(scale)
    assert rel_err(g_U, e_U) < grad_tol(scale)


def test_sigmoid_exact_and_known_values():
    with strict_fp():
        out = ref.sigmoid(np.array([1000.0, -1000.0, 0.0]))
        assert out[0] == 1.0 and out[1] == 0.0 and out[2] == 0.5
        assert ref.sigmoid(1000.0) == 1.0 and ref.sigmoid(-1000.0) == 0.0 and ref.sigmoid(0.0) == 0.5
        np.testing.assert_allclose(ref.sigmoid(np.array([1.0, 2.0, 3.0])),
                                   [0.73105858, 0.88079708, 0.95257413], rtol=0, atol=5e-9)
        x = np.concatenate([np.linspace(-700, 700, 281), [-36.5, -1e-9, 1e-9, 36.5]])
        got = ref.sigmoid(x)
        ls = ref.log_sigmoid(np.array([-1000.0, 1000.0, 0.0]))
    assert got.shape == x.shape
    exact = np.array([float(mp_sigmoid(mpmath.mpf(float(t)))) for t in x])
    # relative accuracy everywhere, including the far negative tail (no 1 - (1 - tiny))
    assert np.max(np.abs(got - exact) / exact) < 4 * np.finfo(float).eps
    np.testing.assert_allclose(ls, [-1000.0, -float(mpmath.log(1 + mpmath.exp(-1000))), -np.log(2.0)],
                               rtol=1e-15, atol=0)


# ----------------------------------------------------------------------------------------
# 3. Conventions and aggregates agree
# ----------------------------------------------------------------------------------------

AGREE = dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_row_and_column_conventions_agree(seed):
    rng, U, V = random_inputs(seed)
    N, W = U.shape
    v = rng.standard_normal(N)
    for o in range(W):
        loss, g_v, g_U = ref.naive_softmax_loss_and_gradients(v, o, U)
        r_loss, r_v, r_out = ref.naiveSoftmaxLossAndGradient(v, o, U.T.copy(), None)
        assert r_out.shape == (W, N) and g_U.shape == (N, W)
        np.testing.assert_allclose(r_loss, loss, **AGREE)
        np.testing.assert_allclose(r_v, g_v, **AGREE)
        np.testing.assert_allclose(r_out, g_U.T, **AGREE)

    # negative sampling: the course function == column function on the drawn samples
    ds = ReplayDataset(NEG_SEQ)
    (w,) = expected_negatives(NEG_SEQ, [O_NEG], K_NEG)
    loss, g_v, g_U = ref.neg_sampling_loss_and_gradients(v, O_NEG, U, w)
    r_loss, r_v, r_out = ref.negSamplingLossAndGradient(v, O_NEG, U.T.copy(), ds, K=K_NEG)
    np.testing.assert_allclose(r_loss, loss, **AGREE)
    np.testing.assert_allclose(r_v, g_v, **AGREE)
    np.testing.assert_allclose(r_out, g_U.T, **AGREE)

    # batch: row batch vs column batch (per-row centre gradients scatter into grad_V)
    c_b = [1, 1, 4, 0, 6]
    o_b = [2, 5, 5, 7, 0]
    loss, g_V, g_U = ref.batch_naive_softmax_loss_and_gradients(c_b, o_b, V, U)
    r_loss, r_C, r_out = ref.naiveSoftmaxLossAndGradientBatch(V[:, c_b].T.copy(), o_b, U.T.copy())
    assert r_C.shape == (len(c_b), N)
    scattered = np.zeros((W, N))
    for b, cb in enumerate(c_b):
        scattered[cb] += r_C[b]
    np.testing.assert_allclose(r_loss, loss, **AGREE)
    np.testing.assert_allclose(scattered, g_V.T, **AGREE)
    np.testing.assert_allclose(r_out, g_U.T, **AGREE)


@pytest.mark.parametrize("seed", SEEDS)
def test_pair_function_is_naive_softmax_on_column_c(seed):
    rng, U, V = random_inputs(seed)
    W = U.shape[1]
    for c, o in [(0, 0), (3, 5), (W - 1, 2)]:
        loss, g_V, g_U = ref.skipgram_pair_loss_and_gradients(c, o, V, U)
        n_loss, n_v, n_U = ref.naive_softmax_loss_and_gradients(V[:, c], o, U)
        expected_V = np.zeros_like(V)
        expected_V[:, c] = n_v
        np.testing.assert_allclose(loss, n_loss, **AGREE)
        np.testing.assert_allclose(g_V, expected_V, **AGREE)
        np.testing.assert_allclose(g_U, n_U, **AGREE)


@pytest.mark.parametrize("seed", SEEDS)
def test_batches_equal_sums_of_pairs(seed):
    rng, U, V = random_inputs(seed)
    N, W = U.shape
    c_b = [int(x) for x in rng.integers(W, size=6)] + [3, 3]
    o_b = [int(x) for x in rng.integers(W, size=8)]
    loss, g_V, g_U = ref.batch_naive_softmax_loss_and_gradients(c_b, o_b, V, U)
    parts = [ref.skipgram_pair_loss_and_gradients(c, o, V, U) for c, o in zip(c_b, o_b)]
    np.testing.assert_allclose(loss, sum(p[0] for p in parts), **AGREE)
    np.testing.assert_allclose(g_V, sum(p[1] for p in parts), **AGREE)
    np.testing.assert_allclose(g_U, sum(p[2] for p in parts), **AGREE)

    C = V[:, c_b].T.copy()
    r_loss, r_C, r_out = ref.naiveSoftmaxLossAndGradientBatch(C, o_b, U.T.copy())
    rparts = [ref.naiveSoftmaxLossAndGradient(C[b], o_b[b], U.T.copy(), None) for b in range(len(c_b))]
    np.testing.assert_allclose(r_loss, sum(p[0] for p in rparts), **AGREE)
    np.testing.assert_allclose(r_C, np.array([p[1] for p in rparts]), **AGREE)
    np.testing.assert_allclose(r_out, sum(p[2] for p in rparts), **AGREE)


@pytest.mark.parametrize("seed", SEEDS)
def test_window_equals_sum_over_outside_words(seed):
    rng, U, _ = random_inputs(seed)
    N, W = U.shape
    v = rng.standard_normal(N)
    o_t = [int(x) for x in rng.integers(W, size=5)] + [2, 2]
    loss, g_v, g_U = ref.window_naive_softmax_loss_and_gradients(v, o_t, U)
    parts = [ref.naive_softmax_loss_and_gradients(v, o, U) for o in o_t]
    np.testing.assert_allclose(loss, sum(p[0] for p in parts), **AGREE)
    np.testing.assert_allclose(g_v, sum(p[1] for p in parts), **AGREE)
    np.testing.assert_allclose(g_U, sum(p[2] for p in parts), **AGREE)


@pytest.mark.parametrize("seed", SEEDS)
def test_skipgram_places_window_gradients_in_the_right_rows(seed):
    rng, U, V = random_inputs(seed)
    N, W = U.shape
    words = [f"w{i}" for i in range(W)]
    word2Ind = {wd: i for i, wd in enumerate(words)}
    c = int(rng.integers(W))
    o_t = [int(x) for x in rng.integers(W, size=6)] + [c]
    C, O = V.T.copy(), U.T.copy()
    loss, g_C, g_O = ref.skipgram(words[c], 3, [words[i] for i in o_t], word2Ind, C, O,
                                  None, ref.naiveSoftmaxLossAndGradient)
    w_loss, w_v, w_U = ref.window_naive_softmax_loss_and_gradients(V[:, c], o_t, U)
    expected_C = np.zeros((W, N))
    expected_C[c] = w_v
    assert g_C.shape == C.shape and g_O.shape == O.shape
    np.testing.assert_allclose(loss, w_loss, **AGREE)
    np.testing.assert_allclose(g_C, expected_C, **AGREE)
    np.testing.assert_allclose(g_O, w_U.T, **AGREE)

    # with negative sampling: the sum of column-convention pair results on consecutive draws
    ds = ReplayDataset(NEG_SEQ)
    loss, g_C, g_O = ref.skipgram(words[c], 3, [words[i] for i in o_t], word2Ind, C, O,
                                  ds, ref.negSamplingLossAndGradient)
    parts = [ref.neg_sampling_loss_and_gradients(V[:, c], o, U, w)
             for o, w in zip(o_t, expected_negatives(NEG_SEQ, o_t, 10))]
    expected_C = np.zeros((W, N))
    expected_C[c] = sum(p[1] for p in parts)
    np.testing.assert_allclose(loss, sum(p[0] for p in parts), **AGREE)
    np.testing.assert_allclose(g_C, expected_C, **AGREE)
    np.testing.assert_allclose(g_O, sum(p[2] for p in parts).T, **AGREE)


# ----------------------------------------------------------------------------------------
# 4. Structure: no Python loop over the vocabulary
# ----------------------------------------------------------------------------------------

LOOP_FREE = [
    "naive_softmax_loss_and_gradients", "skipgram_pair_loss_and_gradients",
    "neg_sampling_loss_and_gradients", "window_naive_softmax_loss_and_gradients",
    "batch_naive_softmax_loss_and_gradients", "sigmoid", "naiveSoftmaxLossAndGradient",
    "negSamplingLossAndGradient", "naiveSoftmaxLossAndGradientBatch",
]
ALLOWED_LOOPS = {"getNegativeSamples", "skipgram"}
LOOPING_BUILTINS = {"map", "filter", "sum", "min", "max", "sorted", "zip", "enumerate", "range",
                    "iter", "next", "reversed", "any", "all"}
LOOPING_NUMPY = {"vectorize", "frompyfunc", "apply_along_axis", "apply_over_axes", "fromiter",
                 "nditer", "ndindex", "ndenumerate"}


def _tree(fn):
    return ast.parse(textwrap.dedent(inspect.getsource(fn)))


def loop_nodes(fn):
    """Python-level loops in fn: for/while statements, comprehensions, looping builtins and
    numpy's python-callback loopers."""
    found = []
    for node in ast.walk(_tree(fn)):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.comprehension)):
            found.append(type(node).__name__)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in LOOPING_BUILTINS:
                found.append(node.func.id)
            elif isinstance(node.func, ast.Attribute) and node.func.attr in LOOPING_NUMPY:
                found.append(node.func.attr)
    return found


def module_callees(fn):
    """Functions of derive.reference called by name inside fn."""
    names = set()
    for node in ast.walk(_tree(fn)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            target = getattr(ref, node.func.id, None)
            if inspect.isfunction(target) and target.__module__ == ref.__name__:
                names.add(node.func.id)
    return names


@pytest.mark.parametrize("name", LOOP_FREE)
def test_no_python_loops_in_loss_functions(name):
    """The function and every helper of derive.reference it calls (transitively) are loop-free,
    apart from the allowed getNegativeSamples (a loop over K samples)."""
    seen, todo = set(), [name]
    while todo:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.add(cur)
        loops = loop_nodes(getattr(ref, cur))
        assert not loops, f"{cur} (reached from {name}) contains Python loops: {loops}"
        todo.extend(module_callees(getattr(ref, cur)) - ALLOWED_LOOPS - seen)


def test_allowed_loops_are_over_samples_and_window_only():
    """Sanity check of the detector: it does see the two allowed loops, and they iterate over
    range(K) and over outsideWords respectively (not over the vocabulary)."""
    assert "For" in loop_nodes(ref.getNegativeSamples)
    assert "For" in loop_nodes(ref.skipgram)
    fors = [n for n in ast.walk(_tree(ref.getNegativeSamples)) if isinstance(n, ast.For)]
    assert len(fors) == 1 and ast.unparse(fors[0].iter) == "range(K)"
    fors = [n for n in ast.walk(_tree(ref.skipgram)) if isinstance(n, ast.For)]
    assert len(fors) == 1 and ast.unparse(fors[0].iter) == "outsideWords"
    assert "getNegativeSamples" in module_callees(ref.negSamplingLossAndGradient)
    # detector catches comprehensions and looping builtins too
    def looper(x):
        return sum(t for t in x)
    assert set(loop_nodes(looper)) >= {"comprehension", "sum"}


# ----------------------------------------------------------------------------------------
# 5. Public CS224n a2 sanity numbers
# ----------------------------------------------------------------------------------------

def test_cs224n_skipgram_naive_softmax_sanity_numbers():
    def normalizeRows(x):
        return x / np.sqrt(np.sum(x ** 2, axis=1, keepdims=True))

    dataset = type("dummy", (), {})()
    dataset.sampleTokenIdx = lambda: random.randint(0, 4)

    def getRandomContext(C):
        tokens = ["a", "b", "c", "d", "e"]
        return tokens[random.randint(0, 4)], [tokens[random.randint(0, 4)] for _ in range(2 * C)]

    dataset.getRandomContext = getRandomContext
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        random.seed(31415)
        np.random.seed(9265)
        dummy_vectors = normalizeRows(np.random.randn(10, 3))
        dummy_tokens = dict([("a", 0), ("b", 1), ("c", 2), ("d", 3), ("e", 4)])
        loss, gradCenterVecs, gradOutsideVectors = ref.skipgram(
            "c", 3, ["a", "b", "e", "d", "b", "c"], dummy_tokens,
            dummy_vectors[:5, :], dummy_vectors[5:, :], dataset, ref.naiveSoftmaxLossAndGradient)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)

    assert np.isclose(loss, 11.16610900153398, rtol=1e-12, atol=0)
    expected_gradCenterVecs = [[0., 0., 0.],
                               [0., 0., 0.],
                               [-1.26947339, -1.36873189, 2.45158957],
                               [0., 0., 0.],
                               [0., 0., 0.]]
    expected_gradOutsideVectors = [[-0.41045956, 0.18834851, 1.43272264],
                                   [0.38202831, -0.17530219, -1.33348241],
                                   [0.07009355, -0.03216399, -0.24466386],
                                   [0.09472154, -0.04346509, -0.33062865],
                                   [-0.13638384, 0.06258276, 0.47605228]]
    np.testing.assert_allclose(gradCenterVecs, expected_gradCenterVecs, rtol=0, atol=6e-9)
    np.testing.assert_allclose(gradOutsideVectors, expected_gradOutsideVectors, rtol=0, atol=6e-9)
