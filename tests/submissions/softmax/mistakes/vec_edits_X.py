"""Planted mistake: softmax_loss_vectorized reverses the order of its inputs X and y in place (the values it
returns do not depend on the order, the caller's arrays do)."""
import numpy as np


def softmax_loss_naive(W, X, y, reg):
    num_train = y.shape[0]
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(num_train), y]).sum() / num_train + reg * np.sum(W * W)
    probs[np.arange(num_train), y] -= 1
    return loss, X.T.dot(probs) / num_train + 2 * reg * W


def softmax_loss_vectorized(W, X, y, reg):
    num_train = y.shape[0]
    X[:] = X[::-1].copy()
    y[:] = y[::-1].copy()
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(num_train), y]).sum() / num_train + reg * np.sum(W * W)
    probs[np.arange(num_train), y] -= 1
    return loss, X.T.dot(probs) / num_train + 2 * reg * W
