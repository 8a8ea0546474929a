"""The inputs of examples/two_layer_net.py:loss made in Python, for
    gradproof verify examples/two_layer_net.py:loss --inputs examples/two_layer_spec.py:make --size H=50
"""
import numpy as np


def make(seed, sizes):
    n, d, h, c = sizes.get("N", 20), sizes.get("D", 30), sizes.get("H", 40), sizes.get("C", 5)
    rng = np.random.default_rng(seed)
    return {
        "inputs": {"X": rng.normal(size=(n, d)), "y": rng.integers(c, size=n),
                   "W1": rng.normal(size=(d, h)) * np.sqrt(2 / d), "b1": np.zeros(h),
                   "W2": rng.normal(size=(h, c)) * np.sqrt(1 / h), "b2": np.zeros(c), "reg": 0.001},
        "returns": ["loss", "grads"],
        "gradients": {"W1": "grads.W1", "b1": "grads.b1", "W2": "grads.W2", "b2": "grads.b2"},
    }
