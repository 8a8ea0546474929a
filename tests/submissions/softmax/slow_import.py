"""A correct softmax classifier whose import waits (sleeps) longer than a short timeout, as an import
kept waiting for a CPU on a busy machine does; its CPU time stays near 0."""
import time

import numpy as np

time.sleep(1.6)  # the tests grade it with a timeout of 1 s


def softmax_loss_naive(W, X, y, reg):
    return softmax_loss_vectorized(W, X, y, reg)


def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    S = X.dot(W)
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    loss = -np.log(P[np.arange(N), y]).mean() + reg * np.sum(W * W)
    P[np.arange(N), y] -= 1
    return loss, X.T.dot(P) / N + 2 * reg * W
