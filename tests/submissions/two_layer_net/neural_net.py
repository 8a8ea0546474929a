"""A correct CS231n TwoLayerNet (classifiers/neural_net.py form): parameters in self.params, reg passed
to loss, reg * sum(W^2) regularisation with its 2 reg W gradient; the class's __init__ draws weights."""
import numpy as np


class TwoLayerNet(object):
    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {"W1": std * np.random.randn(input_size, hidden_size), "b1": np.zeros(hidden_size),
                       "W2": std * np.random.randn(hidden_size, output_size), "b2": np.zeros(output_size)}

    def loss(self, X, y=None, reg=0.0):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        N, D = X.shape
        h = np.maximum(0, X @ W1 + b1)
        scores = h @ W2 + b2
        if y is None:
            return scores
        scores = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[range(N), y]).mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        d = p.copy()
        d[range(N), y] -= 1
        d /= N
        grads = {"W2": h.T @ d + 2 * reg * W2, "b2": d.sum(axis=0)}
        dh = d @ W2.T * (h > 0)
        grads["W1"] = X.T @ dh + 2 * reg * W1
        grads["b1"] = dh.sum(axis=0)
        return loss, grads
