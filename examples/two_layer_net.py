"""A two-layer ReLU network's loss and gradients, returned as (loss, grads) with a dict, in the
style of CS231n's assignment 1 (written for gradproof's examples).

    gradproof verify examples/two_layer_net.py:loss --inputs examples/two_layer_net.toml
    gradproof verify examples/two_layer_net.py:loss --inputs examples/two_layer_spec.py:make
"""
import numpy as np


def loss(X, y, W1, b1, W2, b2, reg=0.0):
    N = X.shape[0]
    hidden = np.maximum(0, X @ W1 + b1)
    scores = hidden @ W2 + b2
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    data_loss = -np.log(probs[np.arange(N), y]).mean()
    total = data_loss + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

    grads = {}
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads["W2"] = hidden.T @ dscores + 2 * reg * W2
    grads["b2"] = dscores.sum(axis=0)
    dhidden = dscores @ W2.T
    dhidden[hidden <= 0] = 0
    grads["W1"] = X.T @ dhidden + 2 * reg * W1
    grads["b1"] = dhidden.sum(axis=0)
    return total, grads


def loss_without_mask(X, y, W1, b1, W2, b2, reg=0.0):
    """The same with the ReLU's mask forgotten in db1 only."""
    total, grads = loss(X, y, W1, b1, W2, b2, reg)
    hidden = np.maximum(0, X @ W1 + b1)
    probs = np.exp(hidden @ W2 + b2 - (hidden @ W2 + b2).max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(X.shape[0]), y] -= 1
    grads["b1"] = (probs / X.shape[0] @ W2.T).sum(axis=0)
    return total, grads
