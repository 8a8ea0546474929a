"""A correct CS231n TwoLayerNet (classifiers/fc_net.py form): loss(X, y) reads self.reg, 0.5 reg |W|^2."""
import numpy as np


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params, self.reg = {}, reg

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        hidden = np.maximum(X.reshape(X.shape[0], -1).dot(W1) + b1, 0)
        scores = hidden.dot(W2) + b2
        if y is None:
            return scores
        shifted = scores - np.max(scores, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        N = X.shape[0]
        loss = -np.sum(log_probs[np.arange(N), y]) / N + 0.5 * self.reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
        dscores = np.exp(log_probs)
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {"W2": hidden.T.dot(dscores) + self.reg * W2, "b2": np.sum(dscores, axis=0)}
        dhidden = dscores.dot(W2.T)
        dhidden[hidden <= 0] = 0
        grads["W1"] = X.reshape(N, -1).T.dot(dhidden) + self.reg * W1
        grads["b1"] = np.sum(dhidden, axis=0)
        return loss, grads
