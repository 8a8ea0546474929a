"""A softmax classifier's loss and gradient, vectorised, in the style of CS231n's assignment 1
(written for gradproof's examples; W is D x C, X is N x D, y holds N class indices).

    gradproof verify examples/softmax.py:softmax_loss_vectorized --inputs examples/softmax.toml
"""
import numpy as np


def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X @ W
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(num_train), y]).mean() + reg * np.sum(W * W)
    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dW = X.T @ dscores / num_train + 2 * reg * W
    return loss, dW


def softmax_loss_forgot_reg(W, X, y, reg):
    """The same with a common slip: the regularisation's gradient left out."""
    loss, dW = softmax_loss_vectorized(W, X, y, reg)
    return loss, dW - 2 * reg * W
