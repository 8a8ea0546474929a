"""A correct course solution written differently: loops over the vocabulary instead of vectorised
code, a sigmoid that never overflows, the course's starter structure for negative sampling
(indices = [outsideWordIdx] + negSampleWordIndices, getNegativeSamples exactly as handed out),
and the losses as NumPy scalars."""
import numpy as np


def sigmoid(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    vocab = outsideVectors.shape[0]
    scores = [outsideVectors[w].dot(centerWordVec) for w in range(vocab)]
    top = max(scores)
    exps = [np.exp(s - top) for s in scores]
    total = sum(exps)
    loss = np.log(total) + top - scores[outsideWordIdx]
    gradCenterVec = np.zeros(centerWordVec.shape)
    gradOutsideVecs = np.zeros(outsideVectors.shape)
    for w in range(vocab):
        y_hat_w = exps[w] / total
        y_w = 1.0 if w == outsideWordIdx else 0.0
        gradCenterVec += (y_hat_w - y_w) * outsideVectors[w]
        gradOutsideVecs[w, :] = (y_hat_w - y_w) * centerWordVec
    return loss, gradCenterVec, gradOutsideVecs


def getNegativeSamples(outsideWordIdx, dataset, K):
    """ Samples K indexes which are not the outsideWordIdx """

    negSampleWordIndices = [None] * K
    for k in range(K):
        newidx = dataset.sampleTokenIdx()
        while newidx == outsideWordIdx:
            newidx = dataset.sampleTokenIdx()
        negSampleWordIndices[k] = newidx
    return negSampleWordIndices


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    # Negative sampling of words is done for you. Do not modify this if you
    # wish to match the autograder and receive points!
    negSampleWordIndices = getNegativeSamples(outsideWordIdx, dataset, K)
    indices = [outsideWordIdx] + negSampleWordIndices

    loss = np.float64(0.0)
    gradCenterVec = np.zeros(centerWordVec.shape)
    gradOutsideVecs = np.zeros(outsideVectors.shape)
    for i, idx in enumerate(indices):
        sign = 1.0 if i == 0 else -1.0          # sigma(u_o.v_c), then sigma(-u_k.v_c)
        s = sigmoid(sign * outsideVectors[idx].dot(centerWordVec))
        loss -= np.log(s)
        gradCenterVec -= sign * (1.0 - s) * outsideVectors[idx]
        gradOutsideVecs[idx] -= sign * (1.0 - s) * centerWordVec
    return loss, gradCenterVec, gradOutsideVecs


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    loss = 0.0
    gradCenterVecs = np.zeros_like(centerWordVectors)
    gradOutsideVectors = np.zeros_like(outsideVectors)
    centerIdx = word2Ind[currentCenterWord]
    centerWordVec = centerWordVectors[centerIdx]
    for j in range(len(outsideWords)):
        pairLoss, gradCenter, gradOutside = word2vecLossAndGradient(
            centerWordVec, word2Ind[outsideWords[j]], outsideVectors, dataset)
        loss = loss + pairLoss
        gradCenterVecs[centerIdx, :] = gradCenterVecs[centerIdx, :] + gradCenter
        gradOutsideVectors = gradOutsideVectors + gradOutside
    return loss, gradCenterVecs, gradOutsideVectors
