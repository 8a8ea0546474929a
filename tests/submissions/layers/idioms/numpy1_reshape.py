"""Correct CS231n layers as a 2020 student wrote them: np.reshape's keyword newshape (NumPy 1; NumPy 2.4
refuses it) and the alias np.int for the labels' count; the rubric's compat provides both."""
import numpy as np


def affine_forward(x, w, b):
    out = np.reshape(x, newshape=(x.shape[0], -1)).dot(w) + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = np.reshape(dout.dot(w.T), newshape=x.shape)
    dw = np.reshape(x, newshape=(x.shape[0], -1)).T.dot(dout)
    return dx, dw, np.sum(dout, axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def softmax_loss(x, y):
    N = np.int(x.shape[0])
    shifted = x - np.max(x, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx / N
