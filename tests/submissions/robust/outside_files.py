"""Attack: writes outside its working directory - open() on /tmp, a directory descriptor with dir_fd=,
io.FileIO on a path object; skipgram writes only in its own directory (and the import leaves a
locked directory there) and is correct.
"""
import io
import os
import pathlib

import numpy as np

OUTSIDE = "/tmp/gradproof-robust-MARKER"  # the test puts a unique string in MARKER and looks for these files

os.makedirs("locked/inner", exist_ok=True)  # what it leaves in its own directory, locked: the grader must
os.chmod("locked/inner", 0)                 # still be able to remove it
os.chmod("locked", 0)


def sigmoid(x):
    open(OUTSIDE + "-open", "w").write("written from the sandbox")
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x)
    e = np.exp(x)
    return e / np.sum(e)


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    tmp = os.open("/tmp", os.O_RDONLY)  # a directory descriptor: relative paths then land in /tmp
    os.write(os.open(os.path.basename(OUTSIDE) + "-dirfd", os.O_WRONLY | os.O_CREAT, dir_fd=tmp), b"written")
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
    with io.FileIO(pathlib.Path(OUTSIDE + "-fileio"), "w") as f:  # a path object, not a str
        f.write(b"written from the sandbox")
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
    with open("scratch.txt", "w") as f:  # its own working directory: allowed
        f.write("notes")
    os.makedirs("cache", exist_ok=True)
    os.replace("scratch.txt", os.path.join("cache", "notes.txt"))
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
