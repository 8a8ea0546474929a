"""Planted mistake (math convention): grad_U[:, w] += ... vectorised, a repeated sample counts once."""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def naive_softmax_loss_and_gradients(v_c, o, U):
    s = U.T @ v_c
    s = s - np.max(s)
    y_hat = np.exp(s) / np.sum(np.exp(s))
    loss = -np.log(y_hat[o])
    e = y_hat.copy()
    e[o] -= 1
    grad_v_c = U @ e
    grad_U = np.outer(v_c, e)
    return loss, grad_v_c, grad_U


def neg_sampling_loss_and_gradients(v_c, o, U, w):
    s_o = sigmoid(U[:, o] @ v_c)
    loss = -np.log(s_o)
    grad_v_c = (s_o - 1) * U[:, o]
    grad_U = np.zeros_like(U)
    grad_U[:, o] += (s_o - 1) * v_c
    s_k = sigmoid(-U[:, w].T @ v_c)
    loss -= np.sum(np.log(s_k))
    grad_v_c += U[:, w] @ (1 - s_k)
    grad_U[:, w] += np.outer(v_c, 1 - s_k)
    return loss, grad_v_c, grad_U
