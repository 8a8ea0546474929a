"""Planted mistake: softmax_loss shifts the caller's scores in place (x -= max).  Its values are right,
but the handout's numerical gradient check perturbs x in place and reads it again between calls:
with this loss it reports a relative error of 0.33 at each row's maximum."""
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    return dx, dw, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def softmax_loss(x, y):
    x -= np.max(x, axis=1, keepdims=True)
    log_probs = x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return loss, dx / N
