"""Correct, as the handout starts it: `from past.builtins import xrange` (the future package) and loops
with xrange; the vectorised version works on a copy of the scores in place."""
from builtins import range
from past.builtins import xrange

import numpy as np
from random import shuffle


def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    for i in xrange(X.shape[0]):
        scores = X[i].dot(W)
        scores -= np.max(scores)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss -= np.log(probs[y[i]])
        probs[y[i]] -= 1
        for j in xrange(W.shape[1]):
            dW[:, j] += probs[j] * X[i]
    loss = loss / X.shape[0] + reg * np.sum(W * W)
    dW = dW / X.shape[0] + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= np.sum(scores, axis=1, keepdims=True)
    loss = -np.sum(np.log(scores[np.arange(num_train), y])) / num_train + reg * np.sum(W * W)
    scores[np.arange(num_train), y] -= 1
    dW = X.T.dot(scores) / num_train + 2 * reg * W
    return loss, dW
