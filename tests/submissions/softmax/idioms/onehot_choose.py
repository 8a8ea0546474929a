"""Correct: a one-hot label matrix from np.eye, the true class's scores picked with np.choose, the loss
as logsumexp minus the true score; the naive version accumulates per example with np.outer."""
import numpy as np


def softmax_loss_naive(W, X, y, reg):
    num_train, num_classes = X.shape[0], W.shape[1]
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(num_train):
        s = X[i] @ W
        m = np.max(s)
        lse = m + np.log(np.sum(np.exp(s - m)))
        loss += lse - s[y[i]]
        onehot = np.zeros(num_classes)
        onehot[y[i]] = 1
        dW += np.outer(X[i], np.exp(s - lse) - onehot)
    loss = loss / num_train + reg * np.sum(np.square(W))
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    num_train, num_classes = len(y), W.shape[1]
    scores = X @ W
    top = scores.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
    correct = np.choose(y, scores.T)
    loss = float(np.sum(lse - correct) / num_train + reg * np.sum(W * W))
    Y = np.eye(num_classes)[y]
    P = np.exp(scores - lse[:, None])
    dW = X.T @ (P - Y) / num_train + 2 * reg * W
    return loss, dW
