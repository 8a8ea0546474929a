"""Attack: tries to switch the sandbox's audit hook off - patching builtins, os.path and the sandbox
module, emptying the hook's state found through gc, and a str subclass whose methods would run
inside the hook; skipgram is correct.
"""
import builtins
import gc
import os
import sys

import numpy as np

OUTSIDE = "/tmp/gradproof-robust-MARKER"  # the test puts a unique string in MARKER and looks for these files


class Sly(str):
    """A path whose methods, if the sandbox's hook ever called them, would switch the hook off."""

    def _strike(self, *args, **kwargs):
        frame = sys._getframe(1)
        while frame is not None:
            for value in list(frame.f_locals.values()):
                if isinstance(value, (dict, list)) and not isinstance(value, Sly):
                    value.clear()
            frame = frame.f_back
        return str.__str__(self)

    __str__ = __fspath__ = split = startswith = _strike


def sigmoid(x):
    # patch what a Python-level hook would call - builtins, os.path, the sandbox's own module - for one write
    saved = [(builtins, "any"), (builtins, "isinstance"), (os.path, "realpath"), (os.path, "abspath"),
             (os, "fspath"), (os, "fsdecode")] + [(m, "_within") for m in list(sys.modules.values())
                                                   if getattr(m, "__name__", "").endswith("confine")]
    saved = [(owner, name, getattr(owner, name)) for owner, name in saved]
    innocent = os.getcwd() + "/innocent"
    try:
        builtins.any = builtins.isinstance = lambda *args: False
        os.path.realpath = os.path.abspath = lambda path, *args, **kwargs: innocent
        os.fspath = os.fsdecode = lambda path: innocent
        for owner, name, _ in saved[6:]:
            setattr(owner, name, lambda path, root: "gradproof" in root)
        open(OUTSIDE + "-patched", "w").write("written from the sandbox")
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x)
    e = np.exp(x)
    return e / np.sum(e)


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    for thing in gc.get_objects():  # find the hook and empty what it refuses
        if callable(thing) and getattr(thing, "__closure__", None):
            for cell in thing.__closure__:
                if isinstance(cell.cell_contents, dict):
                    cell.cell_contents.clear()
    os.fork()
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
    open(Sly(OUTSIDE + "-sly"), "w").write("written from the sandbox")
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
