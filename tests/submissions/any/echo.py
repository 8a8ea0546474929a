"""Returns what it is given, and values of every kind the wire carries (the wire's tests)."""
import numpy as np


class Thing:
    pass


def same(x):
    return x


def labels_shape(y):
    return y.shape[0], y.dtype.kind, int(y.max())


def kinds():
    return (np.arange(3), np.array([True, False]), np.float32(1.5), 2, True, None, "text",
            [1.0, np.zeros((2, 2))], {"W1": np.ones(2), "nested": {"b": (np.int32(4), "x")}}, Thing())


def deep():
    value = 0.0
    for _ in range(200):
        value = [value]
    return value


def many():
    return [np.zeros(1)] * 5000
