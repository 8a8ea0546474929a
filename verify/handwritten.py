"""Careful hand-written NumPy versions of the four models shipped beside word2vec: the
baselines `gradproof bench` times the generated functions against (ratio at most 1.1), and the
references the tests compare the generated functions with (1e-10 relative).

Written the way a course's solution is, independently of the model files: each is the usual
vectorised implementation, stable (shifted softmax, log-sigmoid through logaddexp).
"""
from __future__ import annotations

import numpy as np


def softmax_loss_vectorized(W, X, y, reg):
    """CS231n's softmax classifier: mean cross-entropy of softmax(X W) + reg * sum(W * W)."""
    N = X.shape[0]
    rows = np.arange(N)
    scores = X @ W
    scores -= scores.max(axis=1, keepdims=True)
    exps = np.exp(scores)
    sums = exps.sum(axis=1, keepdims=True)
    loss = np.sum(np.log(sums[:, 0]) - scores[rows, y]) / N + reg * np.sum(W * W)
    probs = exps / sums
    probs[rows, y] -= 1.0
    probs /= N
    dW = X.T @ probs + 2.0 * reg * W
    return loss, dW


def two_layer_net(X, y, W1, b1, W2, b2, reg):
    """CS231n's two-layer net: affine, ReLU, affine, softmax cross-entropy, 0.5 reg L2."""
    N = X.shape[0]
    rows = np.arange(N)
    hidden_in = X @ W1 + b1
    hidden = np.maximum(hidden_in, 0.0)
    scores = hidden @ W2 + b2
    scores = scores - scores.max(axis=1, keepdims=True)
    exps = np.exp(scores)
    sums = exps.sum(axis=1, keepdims=True)
    loss = np.sum(np.log(sums[:, 0]) - scores[rows, y]) / N + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = exps / sums
    dscores[rows, y] -= 1.0
    dscores /= N
    grads = {"W2": hidden.T @ dscores + reg * W2, "b2": dscores.sum(axis=0)}
    dhidden = dscores @ W2.T
    dhidden[hidden_in <= 0] = 0.0
    grads["W1"] = X.T @ dhidden + reg * W1
    grads["b1"] = dhidden.sum(axis=0)
    return loss, grads


def logistic_regression(w, b, X, y, reg):
    """Binary logistic regression: mean cross-entropy of sigmoid(X w + b) + 0.5 reg |w|^2."""
    N = X.shape[0]
    z = X @ w + b
    # log sigma(z) = -log(1 + e^-z), log(1 - sigma(z)) = -log(1 + e^z)
    loss = np.sum(y * np.logaddexp(0.0, -z) + (1 - y) * np.logaddexp(0.0, z)) / N + 0.5 * reg * np.dot(w, w)
    e = np.exp(-np.abs(z))
    p = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    dz = (p - y) / N
    return loss, X.T @ dz + reg * w, np.sum(dz)


def glove(W, W_tilde, b, b_tilde, X, x_max=100, alpha=0.75):
    """GloVe: sum over X_ij > 0 of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2."""
    observed = X > 0
    logX = np.log(X, out=np.zeros(X.shape), where=observed)
    f = np.where(observed, np.minimum((X / x_max) ** alpha, 1.0), 0.0)
    diff = W @ W_tilde.T + b[:, None] + b_tilde[None, :] - logX
    fdiff = f * diff
    loss = np.sum(fdiff * diff)
    G = 2.0 * fdiff
    return loss, G @ W_tilde, G.T @ W, G.sum(axis=1), G.sum(axis=0)
