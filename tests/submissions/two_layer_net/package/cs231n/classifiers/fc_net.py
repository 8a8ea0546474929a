"""A correct CS231n TwoLayerNet (2019+ assignment 1 form): relative imports of the student's own layers,
loss(X, y) reading self.reg, 0.5 reg |W|^2."""
from builtins import object

import numpy as np

from ..layers import *


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params = {"W1": weight_scale * np.random.randn(input_dim, hidden_dim), "b1": np.zeros(hidden_dim),
                       "W2": weight_scale * np.random.randn(hidden_dim, num_classes), "b2": np.zeros(num_classes)}
        self.reg = reg

    def loss(self, X, y=None):
        h, cache1 = affine_forward(X, self.params["W1"], self.params["b1"])
        a, cache_relu = relu_forward(h)
        scores, cache2 = affine_forward(a, self.params["W2"], self.params["b2"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(self.params["W1"] ** 2) + np.sum(self.params["W2"] ** 2))
        grads = {}
        da, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
        dh = relu_backward(da, cache_relu)
        _, grads["W1"], grads["b1"] = affine_backward(dh, cache1)
        grads["W2"] += self.reg * self.params["W2"]
        grads["W1"] += self.reg * self.params["W1"]
        return loss, grads
