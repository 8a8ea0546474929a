"""Planted mistake: c and o exchanged throughout (the outside word taken as the center word and back)."""
import numpy as np


def skipgram_pair_loss_and_gradients(o, c, V, U):
    v_c = V[:, c]
    s = U.T.dot(v_c)
    p = np.exp(s - np.max(s))
    p /= p.sum()
    loss = -np.log(p[o])
    delta = p.copy()
    delta[o] -= 1
    grad_V = np.zeros_like(V)
    grad_V[:, c] = U.dot(delta)
    return loss, grad_V, np.outer(v_c, delta)
