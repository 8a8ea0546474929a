"""Planted mistake (math convention): e = y_hat, the -y never subtracted."""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def naive_softmax_loss_and_gradients(v_c, o, U):
    s = U.T @ v_c
    s = s - np.max(s)
    y_hat = np.exp(s) / np.sum(np.exp(s))
    loss = -np.log(y_hat[o])
    e = y_hat.copy()
    grad_v_c = U @ e
    grad_U = np.outer(v_c, e)
    return loss, grad_v_c, grad_U


def neg_sampling_loss_and_gradients(v_c, o, U, w):
    s_o = sigmoid(U[:, o] @ v_c)
    loss = -np.log(s_o)
    grad_v_c = (s_o - 1) * U[:, o]
    grad_U = np.zeros_like(U)
    grad_U[:, o] += (s_o - 1) * v_c
    for k in w:
        s_k = sigmoid(-U[:, k] @ v_c)
        loss -= np.log(s_k)
        grad_v_c += (1 - s_k) * U[:, k]
        grad_U[:, k] += (1 - s_k) * v_c
    return loss, grad_v_c, grad_U
