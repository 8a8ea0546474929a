"""Attack: sigmoid returns zeros in an ndarray subclass that claims to equal anything and answers every
ufunc with zeros; naiveSoftmaxLossAndGradient returns objects equal to everything whose __array__ is
garbage; negSamplingLossAndGradient returns the right numbers in the lying subclass.
"""
import numpy as np


class Liar(np.ndarray):
    """Says it equals anything, and answers every numpy operation with more of itself."""

    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False  # noqa: E731

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(np.shape(inputs[0])).view(Liar)

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __float__(self):
        return 0.0


class Anything:
    """Not an array at all: equal to everything, and an array of garbage when asked for one."""

    def __init__(self, shape):
        self.shape = shape

    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.full(self.shape, 1e6)

    def __float__(self):
        return 1e6


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid(x):
    return np.zeros(np.shape(x)).view(Liar)  # zeros, whatever it says


def softmax(x):
    x = x - np.max(x)
    e = np.exp(x)
    return e / np.sum(e)


def _naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    y_hat = softmax(outsideVectors @ centerWordVec)
    loss = -np.log(y_hat[outsideWordIdx])
    delta = y_hat.copy()
    delta[outsideWordIdx] -= 1
    gradCenterVec = outsideVectors.T @ delta
    gradOutsideVecs = np.outer(delta, centerWordVec)
    return loss, gradCenterVec, gradOutsideVecs


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    return Anything(()), Anything(centerWordVec.shape), Anything(outsideVectors.shape)


def getNegativeSamples(outsideWordIdx, dataset, K):
    negSampleWordIndices = [None] * K
    for k in range(K):
        newidx = dataset.sampleTokenIdx()
        while newidx == outsideWordIdx:
            newidx = dataset.sampleTokenIdx()
        negSampleWordIndices[k] = newidx
    return negSampleWordIndices


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    negSampleWordIndices = getNegativeSamples(outsideWordIdx, dataset, K)
    u_o = outsideVectors[outsideWordIdx]
    s_o = _sigmoid(u_o @ centerWordVec)
    loss = -np.log(s_o)
    gradCenterVec = (s_o - 1) * u_o
    gradOutsideVecs = np.zeros_like(outsideVectors)
    gradOutsideVecs[outsideWordIdx] = (s_o - 1) * centerWordVec
    for k in negSampleWordIndices:
        s_k = _sigmoid(-outsideVectors[k] @ centerWordVec)
        loss -= np.log(s_k)
        gradCenterVec += (1 - s_k) * outsideVectors[k]
        gradOutsideVecs[k] += (1 - s_k) * centerWordVec
    # the right numbers, in the lying subclass: judged on the numbers
    return np.asarray(loss).view(Liar), gradCenterVec.view(Liar), gradOutsideVecs.view(Liar)


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=_naiveSoftmaxLossAndGradient):
    loss = 0.0
    gradCenterVecs = np.zeros(centerWordVectors.shape)
    gradOutsideVectors = np.zeros(outsideVectors.shape)
    c = word2Ind[currentCenterWord]
    for word in outsideWords:
        l, gc, go = word2vecLossAndGradient(centerWordVectors[c], word2Ind[word], outsideVectors, dataset)
        loss += l
        gradCenterVecs[c] += gc
        gradOutsideVectors += go
    return loss, gradCenterVecs, gradOutsideVectors
