"""Attack: looks for where the grader keeps the class (to copy a classmate) - in the stack frames
above it, in sys.argv, and among the processes it can see; its functions are correct otherwise.
"""
import os
import sys

import numpy as np

ORIGIN = "ORIGIN_DIR"  # the test puts here the directory the submission was graded from


def mentions(value, depth=0):
    if isinstance(value, (str, bytes)):
        return ORIGIN in (value if isinstance(value, str) else value.decode(errors="replace"))
    if isinstance(value, (list, tuple)) and depth < 4:
        return any(mentions(v, depth + 1) for v in value)
    if isinstance(value, dict) and depth < 4:
        return any(mentions(v, depth + 1) for v in value.values())
    return False


def sigmoid(x):
    frame = sys._getframe()
    while frame is not None:  # the frames above: what started this process
        for name, value in frame.f_locals.items():
            if mentions(value):
                raise RuntimeError(f"the grader's paths, in {frame.f_code.co_name}(): {name}")
        frame = frame.f_back
    if mentions(sys.argv):
        raise RuntimeError(f"the grader's paths, in sys.argv: {sys.argv}")
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x)
    e = np.exp(x)
    return e / np.sum(e)


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    if others:  # the grader's command line would name the class directory
        raise RuntimeError(f"{len(others)} other processes visible")
    y_hat = softmax(outsideVectors @ centerWordVec)
    loss = -np.log(y_hat[outsideWordIdx])
    delta = y_hat.copy()
    delta[outsideWordIdx] -= 1
    gradCenterVec = outsideVectors.T @ delta
    gradOutsideVecs = np.outer(delta, centerWordVec)
    return loss, gradCenterVec, gradOutsideVecs


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
    s_o = sigmoid(u_o @ centerWordVec)
    loss = -np.log(s_o)
    gradCenterVec = (s_o - 1) * u_o
    gradOutsideVecs = np.zeros_like(outsideVectors)
    gradOutsideVecs[outsideWordIdx] = (s_o - 1) * centerWordVec
    for k in negSampleWordIndices:
        s_k = sigmoid(-outsideVectors[k] @ centerWordVec)
        loss -= np.log(s_k)
        gradCenterVec += (1 - s_k) * outsideVectors[k]
        gradOutsideVecs[k] += (1 - s_k) * centerWordVec
    return loss, gradCenterVec, gradOutsideVecs


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
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
