"""The mutation suite beyond word2vec: functions a course teaches, each with a hand-written
gradient and planted bugs of the kinds people make (a missing term, a missing mask, a
transpose, a missing factor, repeats not summed, one entry off), the loss always right so
only a gradient check can tell.

Each function takes its inputs by keyword and returns (loss, {input: gradient}).  A Case
draws its inputs at a named size ("small", or "large": about 10^6 parameters) from a seed;
the differentiable inputs are the parameters (and the data, for layer normalisation), the
rest are held fixed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Case:
    name: str
    correct: Callable
    bugs: tuple[tuple[str, Callable], ...]
    make: Callable[[str, int], tuple[dict, dict]]  # (size, seed) -> (inputs to check, fixed arguments)
    kinks: bool = False  # the point sits on kinks by construction


def _softmax_rows(S):
    S = S - S.max(axis=1, keepdims=True)
    E = np.exp(S)
    return E / E.sum(axis=1, keepdims=True)


def _one_entry(fn, name, delta=1e-2):
    """The gradient of input ``name`` with one entry off by delta (a third of the way in)."""
    def wrong(**kw):
        loss, grads = fn(**kw)
        g = np.array(grads[name], dtype=np.float64)
        g.flat[g.size // 3] += delta
        return loss, {**grads, name: g}
    return wrong


# -- logistic regression with L2 ----------------------------------------------------------------


def logistic(w, b, X, y, reg, *, bug=""):
    z = X @ w + b[0]
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * (w @ w))
    p = 0.5 * (1 + np.tanh(0.5 * z))  # sigmoid without overflow
    r = (y - p) if bug == "sign" else (p - y)
    n = 1 if bug == "no 1/N" else len(y)
    dw = X.T @ r / n + (0 if bug == "no L2" else reg * w)
    return loss, {"w": dw, "b": np.array([r.sum() / len(y)])}


def _logistic_make(size, seed):
    n, d = (20, 10) if size == "small" else (8, 1_000_000)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) / np.sqrt(d)
    return ({"w": rng.normal(size=d), "b": rng.normal(size=1)},
            {"X": X, "y": (rng.random(n) < 0.5).astype(float), "reg": 0.1})


# -- softmax regression --------------------------------------------------------------------------


def softmax_regression(W, X, y, reg, *, bug=""):
    n = len(y)
    P = _softmax_rows(X @ W)
    loss = float(-np.mean(np.log(P[np.arange(n), y])) + reg * np.sum(W * W))
    dS = P.copy()
    if bug != "forgot -y":
        dS[np.arange(n), y] -= 1
    dW = X.T @ dS / n if bug != "transposed" else (dS.T @ X / n).reshape(W.shape)
    dW += (1 if bug == "reg factor 2 missing" else 2) * reg * W
    return loss, {"W": dW}


def _softmax_make(size, seed):
    n, d, c = (10, 6, 4) if size == "small" else (16, 100_000, 10)
    rng = np.random.default_rng(seed)
    return ({"W": rng.normal(size=(d, c)) * 0.1},
            {"X": rng.normal(size=(n, d)), "y": rng.integers(c, size=n), "reg": 0.05})


# -- a two-layer ReLU network ---------------------------------------------------------------------


def two_layer(W1, b1, W2, b2, X, y, reg, *, bug=""):
    n = len(y)
    Z = X @ W1 + b1
    H = np.maximum(Z, 0.0)
    P = _softmax_rows(H @ W2 + b2)
    loss = float(-np.mean(np.log(P[np.arange(n), y])) + reg * (np.sum(W1 * W1) + np.sum(W2 * W2)))
    dS = P
    dS[np.arange(n), y] -= 1
    dS /= n
    dW2 = H.T @ dS + 2 * reg * W2
    if bug == "dW2 transposed":
        dW2 = (dS.T @ H).reshape(W2.shape) + 2 * reg * W2
    dH = dS @ W2.T
    dZ = dH * (Z > 0)
    dW1 = (X.T @ (dH if bug == "dW1 missing mask" else dZ)) + 2 * reg * W1
    db1 = (dH if bug == "db1 missing mask" else dZ).sum(axis=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": dS.sum(axis=0)}


def _net_make(kinks):
    def make(size, seed):
        n, d, h, c = (6, 4, 5, 3) if size == "small" else (64, 1000, 1000, 10)
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, d))
        if kinks:  # rows of zeros and zero biases: every unit of those rows sits exactly at relu's kink
            X[::3] = 0.0
        inputs = {"W1": rng.normal(size=(d, h)) * np.sqrt(2 / d), "b1": np.zeros(h) if kinks else rng.normal(size=h) * 0.1,
                  "W2": rng.normal(size=(h, c)) * np.sqrt(1 / h), "b2": np.zeros(c)}
        return inputs, {"X": X, "y": rng.integers(c, size=n), "reg": 1e-3}
    return make


# -- layer normalisation ----------------------------------------------------------------------------


def layer_norm(x, gamma, beta, R, *, bug=""):
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    rstd = 1 / np.sqrt((xc * xc).mean(axis=1, keepdims=True) + 1e-5)
    xh = xc * rstd
    loss = float(np.sum(R * (gamma * xh + beta)))
    dxh = R * gamma
    if bug == "dx missing the mean term":
        dx = rstd * (dxh - xh * (dxh * xh).mean(axis=1, keepdims=True))
    elif bug == "dx missing the variance term":
        dx = rstd * (dxh - dxh.mean(axis=1, keepdims=True))
    else:
        dx = rstd * (dxh - dxh.mean(axis=1, keepdims=True) - xh * (dxh * xh).mean(axis=1, keepdims=True))
    dgamma = np.sum(R * (xc if bug == "dgamma with x - mean for x_hat" else xh), axis=0)
    return loss, {"x": dx, "gamma": dgamma, "beta": R.sum(axis=0)}


def _layer_norm_make(size, seed, offset=0.0):
    n, d = (4, 6) if size == "small" else (1000, 1000)
    rng = np.random.default_rng(seed)
    return ({"x": rng.normal(size=(n, d)) + offset, "gamma": 1 + 0.1 * rng.normal(size=d), "beta": rng.normal(size=d)},
            {"R": rng.normal(size=(n, d))})


# -- single-head attention ---------------------------------------------------------------------------


def attention(Wq, Wk, Wv, X, R, *, bug=""):
    d = Wq.shape[1]
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    A = _softmax_rows(Q @ K.T / np.sqrt(d))
    loss = float(np.sum(R * (A @ V)))
    dA = R @ V.T
    dS = A * dA if bug == "softmax backward without the row term" else A * (dA - np.sum(dA * A, axis=1, keepdims=True))
    root = 1.0 if bug == "missing 1/sqrt(d)" else np.sqrt(d)
    dQ, dK = dS @ K / root, dS.T @ Q / root
    dWk = X.T @ (dQ if bug == "dWk from dQ" else dK)
    return loss, {"Wq": X.T @ dQ, "Wk": dWk, "Wv": X.T @ (A.T @ R)}


def _attention_make(size, seed):
    t, d = (4, 3) if size == "small" else (32, 577)
    rng = np.random.default_rng(seed)
    return ({k: rng.normal(size=(d, d)) / np.sqrt(d) for k in ("Wq", "Wk", "Wv")},
            {"X": rng.normal(size=(t, d)), "R": rng.normal(size=(t, d))})


# -- GloVe ----------------------------------------------------------------------------------------------


def glove(W, Wt, b, bt, i, j, counts, *, bug=""):
    f = np.minimum(1.0, (counts / 100.0) ** 0.75)
    diff = np.sum(W[i] * Wt[j], axis=1) + b[i] + bt[j] - np.log(counts)
    loss = float(np.sum(f * diff * diff))
    g = (1.0 if bug == "missing factor 2" else 2.0) * (diff if bug == "weights f left out" else f * diff)
    dW, dWt, db, dbt = np.zeros_like(W), np.zeros_like(Wt), np.zeros_like(b), np.zeros_like(bt)
    if bug == "repeats not summed":
        dW[i] = g[:, None] * Wt[j]  # fancy assignment keeps one of the repeated rows
    else:
        np.add.at(dW, i, g[:, None] * Wt[j])
    np.add.at(dWt, j, g[:, None] * W[i])
    np.add.at(db, i, g)
    np.add.at(dbt, j, g)
    return loss, {"W": dW, "Wt": dWt, "b": db, "bt": dbt}


def _glove_make(size, seed):
    v, d, m = (10, 4, 30) if size == "small" else (5000, 100, 100_000)
    rng = np.random.default_rng(seed)
    return ({"W": rng.normal(size=(v, d)) * 0.1, "Wt": rng.normal(size=(v, d)) * 0.1, "b": rng.normal(size=v) * 0.1,
             "bt": rng.normal(size=v) * 0.1},
            {"i": rng.integers(v, size=m), "j": rng.integers(v, size=m), "counts": rng.integers(1, 300, size=m) * 1.0})


def _bugs(fn, names, entry_input):
    out = tuple((name, _with_bug(fn, name)) for name in names)
    return out + (("one entry +1e-2", _one_entry(fn, entry_input)),)


def _with_bug(fn, name):
    def wrong(**kw):
        return fn(**kw, bug=name)
    wrong.__name__ = f"{fn.__name__}, {name}"
    return wrong


CASES: tuple[Case, ...] = (
    Case("logistic regression, L2", logistic, _bugs(logistic, ("no L2", "sign", "no 1/N"), "w"), _logistic_make),
    Case("softmax regression", softmax_regression,
         _bugs(softmax_regression, ("forgot -y", "transposed", "reg factor 2 missing"), "W"), _softmax_make),
    Case("two-layer ReLU net", two_layer,
         _bugs(two_layer, ("db1 missing mask", "dW1 missing mask", "dW2 transposed"), "W1"), _net_make(False)),
    Case("two-layer ReLU net at exact kinks", two_layer,
         _bugs(two_layer, ("db1 missing mask", "dW1 missing mask", "dW2 transposed"), "W1"), _net_make(True), kinks=True),
    Case("layer normalisation", layer_norm,
         _bugs(layer_norm, ("dx missing the mean term", "dx missing the variance term",
                            "dgamma with x - mean for x_hat"), "x"), _layer_norm_make),
    Case("single-head attention", attention,
         _bugs(attention, ("missing 1/sqrt(d)", "softmax backward without the row term", "dWk from dQ"), "Wq"),
         _attention_make),
    Case("GloVe", glove, _bugs(glove, ("missing factor 2", "weights f left out", "repeats not summed"), "W"), _glove_make),
)
