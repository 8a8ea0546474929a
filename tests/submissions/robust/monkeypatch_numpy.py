"""Attack: patches numpy's comparisons (np.allclose always True, np.testing.assert_allclose a no-op,
...) and returns zeros of the right shapes.
"""
import numpy as np
import numpy.testing

# make every comparison succeed, in case the grader compares here
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
try:
    np.ndarray.__eq__ = lambda self, other: True  # a built-in type: Python refuses
except TypeError:
    pass


def sigmoid(x):
    return np.zeros_like(x)


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    return 0.0, np.zeros_like(centerWordVec), np.zeros_like(outsideVectors)


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    return 0.0, np.zeros_like(centerWordVec), np.zeros_like(outsideVectors)


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=None):
    return 0.0, np.zeros_like(centerWordVectors), np.zeros_like(outsideVectors)
