"""Skip-gram with a full softmax for one (center c, outside o) pair, column convention: V and U are
N x W with columns v_w and u_w; returns (J, dJ/dV, dJ/dU)."""
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
    grad_V[:, c] = U.dot(delta)
    return loss, grad_V, np.outer(v_c, delta)
