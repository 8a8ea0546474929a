"""Planted mistake: grads["b1"] summed over axis 1 (each example's hidden units) instead of axis 0 (the batch)."""
import numpy as np


def two_layer_net(X, y, W1, b1, W2, b2, reg):
    N = X.shape[0]
    hidden = np.maximum(0, X.dot(W1) + b1)
    scores = hidden.dot(W2) + b2
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    dscores /= N
    grads = {"W2": hidden.T.dot(dscores) + reg * W2, "b2": np.sum(dscores, axis=0)}
    dhidden = dscores.dot(W2.T)
    dhidden[hidden <= 0] = 0
    grads["W1"] = X.T.dot(dhidden) + reg * W1
    grads["b1"] = np.sum(dhidden, axis=1)
    return loss, grads
