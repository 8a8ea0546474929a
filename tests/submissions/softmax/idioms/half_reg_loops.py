"""Correct, in the older handouts' convention: loss + 0.5 reg |W|^2 and dW + reg W; the naive version
loops over examples and classes with explicit (1, D) reshapes, the vectorised one uses np.newaxis."""
import numpy as np


def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros(W.shape)
    N, C = X.shape[0], W.shape[1]
    for i in range(N):
        x = X[i].reshape(1, -1)
        f = x.dot(W).ravel()
        f = f - f.max()
        denom = 0.0
        for j in range(C):
            denom += np.exp(f[j])
        loss += -f[y[i]] + np.log(denom)
        for j in range(C):
            p = np.exp(f[j]) / denom
            dW[:, j] += (p - (1.0 if j == y[i] else 0.0)) * x.ravel()
    loss = loss / N + 0.5 * reg * np.sum(W * W)
    dW = dW / N + reg * W
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    f = X.dot(W)
    f -= np.max(f, axis=1)[:, np.newaxis]
    e = np.exp(f)
    p = e / np.sum(e, axis=1)[:, np.newaxis]
    loss = np.mean(-np.log(p[range(N), list(y)])) + 0.5 * reg * np.sum(W ** 2)
    p[range(N), y] -= 1
    dW = X.T.dot(p) / N + reg * W
    return loss, dW
