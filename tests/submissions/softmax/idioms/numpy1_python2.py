"""A correct softmax classifier written where NumPy 1 and Python 2 ran (the 2016-2022 handouts): a helper
imported from numpy.lib.npyio, the alias np.float for a dtype, np.reshape's keyword newshape, and
Python 2's xrange without an import.  Right where it ran; the rubric's compat provides those names."""
import numpy as np
from numpy.lib.npyio import savez_compressed  # noqa: F401 - imported, never used, as the handout's student did


def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros(W.shape, dtype=np.float)
    num_train, num_classes = X.shape[0], W.shape[1]
    for i in xrange(num_train):  # noqa: F821 - Python 2
        scores = X[i].dot(W)
        scores -= np.max(scores)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss -= np.log(probs[y[i]])
        for j in xrange(num_classes):  # noqa: F821
            dW[:, j] += (probs[j] - (j == y[i])) * X[i]
    return loss / num_train + reg * np.sum(W * W), dW / num_train + 2 * reg * W


def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.reshape(np.max(scores, axis=1), newshape=(num_train, 1))
    probs = np.exp(scores)
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train + reg * np.sum(W * W)
    probs[np.arange(num_train), y] -= 1
    return loss, X.T.dot(probs) / num_train + 2 * reg * W
