"""Attack: reads the grader's reference source and runs it - open(), pathlib, io.FileIO on a path
object, and libc's open/read through ctypes.
"""
import io
import pathlib

import numpy as np

REFERENCE = "REFERENCE_PATH"  # the test puts the real path of derive/reference.py here


def run(source):
    namespace = {"__name__": "stolen_reference"}
    exec(compile(source, "stolen_reference", "exec"), namespace)
    return namespace


def sigmoid(x):
    return run(open(REFERENCE).read())["sigmoid"](x)


def softmax(x):
    x = x - np.max(x)
    e = np.exp(x)
    return e / np.sum(e)


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    reference = run(pathlib.Path(REFERENCE).read_text())
    return reference["naiveSoftmaxLossAndGradient"](centerWordVec, outsideWordIdx, outsideVectors, dataset)


def getNegativeSamples(outsideWordIdx, dataset, K):
    negSampleWordIndices = [None] * K
    for k in range(K):
        newidx = dataset.sampleTokenIdx()
        while newidx == outsideWordIdx:
            newidx = dataset.sampleTokenIdx()
        negSampleWordIndices[k] = newidx
    return negSampleWordIndices


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    with io.FileIO(pathlib.Path(REFERENCE)) as f:  # a path object, not a str
        reference = run(f.read())
    return reference["negSamplingLossAndGradient"](centerWordVec, outsideWordIdx, outsideVectors, dataset, K)


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    import ctypes

    libc = ctypes.CDLL(None)
    fd = libc.open(REFERENCE.encode(), 0)
    buffer = ctypes.create_string_buffer(1 << 20)
    reference = run(buffer.raw[:libc.read(fd, buffer, 1 << 20)])
    return reference["skipgram"](currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors,
                                 outsideVectors, dataset, word2vecLossAndGradient)
