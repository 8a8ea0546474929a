"""Attack: imports the grader's reference instead of computing - from derive import reference,
import gradproof.derive.reference, and importlib on the file's path, found from numpy's location or written in.
"""
import glob
import importlib.util
import os
import re

import numpy as np

REFERENCE = "REFERENCE_PATH"  # the test puts the real path of derive/reference.py here


def found_from_numpy():
    """Walk from numpy's location to the editable install's files, which name the toolkit's source."""
    site = os.path.dirname(os.path.dirname(np.__file__))
    for name in glob.glob(os.path.join(site, "__editable__*")):
        try:
            text = open(name).read()
        except OSError:
            continue
        for path in re.findall(r"['\"](/[^'\"]*?/derive)['\"]", text) + re.findall(r"^(/.+)$", text, re.M):
            candidate = path if path.endswith("derive") else os.path.join(path, "derive")
            return os.path.join(candidate, "reference.py")
    return REFERENCE


def load(path):
    spec = importlib.util.spec_from_file_location("stolen_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sigmoid(x):
    from gradproof.derive import reference

    return reference.sigmoid(x)


def softmax(x):
    x = x - np.max(x)
    e = np.exp(x)
    return e / np.sum(e)


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    import gradproof.derive.reference

    return gradproof.derive.reference.naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset)


def getNegativeSamples(outsideWordIdx, dataset, K):
    negSampleWordIndices = [None] * K
    for k in range(K):
        newidx = dataset.sampleTokenIdx()
        while newidx == outsideWordIdx:
            newidx = dataset.sampleTokenIdx()
        negSampleWordIndices[k] = newidx
    return negSampleWordIndices


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    reference = load(found_from_numpy())
    return reference.negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K)


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    reference = load(REFERENCE)
    return reference.skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors,
                              outsideVectors, dataset, word2vecLossAndGradient)
