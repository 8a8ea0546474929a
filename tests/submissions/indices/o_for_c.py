"""Planted mistake: the center vector's gradient written into column o, the outside word's, instead of
column c."""
import numpy as np


def skipgram_pair_loss_and_gradients(c, o, V, U):
    v_c = V[:, c]
    s = U.T.dot(v_c)
    p = np.exp(s - np.max(s))
    p /= p.sum()
    loss = -np.log(p[o])
    delta = p.copy()
    delta[o] -= 1
    grad_V = np.zeros_like(V)
    grad_V[:, o] = U.dot(delta)
    return loss, grad_V, np.outer(v_c, delta)
