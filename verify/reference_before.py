# The reference module as generated before model files (main at 061b3ad, derive/reference.py), kept
# verbatim as the baseline of `gradproof bench`: the reference regenerated from the model files must
# be as fast (ratio at most 1.05, timed side by side).  Not used anywhere else.
"""NumPy reference implementation of the skip-gram losses and gradients.

Every line that computes a loss or a gradient names the gradproof claim that proves it
(``gradproof derive`` lists them).  Column convention: U and V are N x |V| with columns
u_w and v_w.  Course (row) convention: outsideVectors is |V| x N with rows u_w.
"""
import numpy as np


def softmax(x):
    """Softmax over axis 0 (each column of a matrix), shifted by the max: no overflow at |x| = 1000."""
    z = np.exp(x - np.max(x, axis=0))
    return z / np.sum(z, axis=0)


def logsumexp(x):
    """log sum exp over axis 0, shifted by the max."""
    top = np.max(x, axis=0)
    return top + np.log(np.sum(np.exp(x - top), axis=0))


def softmax_and_logsumexp(x):
    """(softmax(x), logsumexp(x)) from one shifted exp."""
    top = np.max(x, axis=0)
    z = np.exp(x - top)
    total = np.sum(z, axis=0)
    z /= total
    return z, top + np.log(total)


def minus_one_hot(x, index):
    """x - e_index, without building e_index."""
    out = np.array(x, dtype=float)
    out[index] -= 1.0
    return out


def minus_one_hot_columns(X, indices):
    """X minus the one-hot columns of indices: 1 is subtracted at (indices[b], b)."""
    out = np.array(X, dtype=float)
    out[indices, np.arange(len(indices))] -= 1.0
    return out


def sigmoid(x):
    """Logistic function, stable for large |x|: exp is only taken of -|x|."""
    x = np.asarray(x, dtype=float)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def log_sigmoid(x):
    """log sigmoid(x) = -log(1 + exp(-x)), stable for large |x|."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=float))


def one_hot(index, n):
    out = np.zeros(n)
    out[index] = 1.0
    return out


def one_hot_columns(indices, n):
    out = np.zeros((n, len(indices)))
    out[indices, np.arange(len(indices))] = 1.0
    return out


def place_column(x, index, n):
    """The n-column matrix that is x in column index and zero elsewhere."""
    out = np.zeros((len(x), n))
    out[:, index] = x
    return out


def scatter_rows(x, indices, n):
    """Sum the rows of x into n rows at indices (repeated indices add up)."""
    out = np.zeros((n, x.shape[1]))
    np.add.at(out, indices, x)
    return out


def pick(S, indices):
    """The entries S[indices[b], b], one per column."""
    return S[indices, np.arange(S.shape[1])]


def getNegativeSamples(outsideWordIdx, dataset, K):
    """K indices from dataset.sampleTokenIdx(), redrawing any that equals outsideWordIdx."""
    negSampleWordIndices = [None] * K
    for k in range(K):
        newidx = dataset.sampleTokenIdx()
        while newidx == outsideWordIdx:
            newidx = dataset.sampleTokenIdx()
        negSampleWordIndices[k] = newidx
    return negSampleWordIndices


def naive_softmax_loss_and_gradients(v_c, o, U):
    """Skip-gram loss J = -log softmax(U^T v_c)[o] and its gradients (column convention: U is N x |V|).

    Claims:
        loss: naive-softmax: loss as log-sum-exp, seed eq. (F4)
        e: naive-softmax: dJ/ds, seed eq. (24)
        grad_v_c: naive-softmax: dJ/dv_c, seed eq. (3)
        grad_U: naive-softmax: dJ/dU, seed eq. (4, 5)
    """
    N, W = U.shape
    s = U.T @ v_c
    y_hat, lse = softmax_and_logsumexp(s)
    loss = lse - s[o]
    e = minus_one_hot(y_hat, o)
    grad_v_c = U @ e
    grad_U = np.outer(v_c, e)
    return loss, grad_v_c, grad_U


def skipgram_pair_loss_and_gradients(c, o, V, U):
    """The seed's full model: h = V x = v_c for the one-hot x of center word c; returns (J, dJ/dV, dJ/dU).

    Claims:
        loss: naive-softmax: loss as log-sum-exp, seed eq. (F4)
        e: naive-softmax: dJ/ds, seed eq. (24)
        grad_V: naive-softmax: dJ/dV
        grad_U: naive-softmax: dJ/dU, seed eq. (4, 5)
    """
    N, W = U.shape
    h = V[:, c]
    s = U.T @ h
    y_hat, lse = softmax_and_logsumexp(s)
    loss = lse - s[o]
    e = minus_one_hot(y_hat, o)
    grad_V = place_column(U @ e, c, W)
    grad_U = np.outer(h, e)
    return loss, grad_V, grad_U


def neg_sampling_loss_and_gradients(v_c, o, U, w):
    """Negative-sampling loss with the K sampled indices w (repeats allowed; o may appear).

    Claims:
        loss: neg-sampling: loss in log-sigmoid form
        grad_v_c: neg-sampling: dJ/dv_c
        grad_U: neg-sampling: dJ/dU
    """
    N, W = U.shape
    w = np.asarray(w, dtype=np.intp)
    negatives = U[:, w].T @ v_c
    sigma_o = sigmoid(U[:, o] @ v_c)
    loss = -log_sigmoid(U[:, o] @ v_c) - (np.sum(log_sigmoid(-negatives)))
    grad_v_c = U[:, w] @ sigmoid(negatives) + (sigma_o - 1) * U[:, o]
    grad_U = np.outer(v_c, (sigma_o - 1) * one_hot(o, W) + np.bincount(w, weights=sigmoid(negatives), minlength=W))
    return loss, grad_v_c, grad_U


def window_naive_softmax_loss_and_gradients(v_c, o_t, U):
    """The window objective: the naive-softmax loss summed over the outside words o_t of one center word.

    Claims:
        loss: window: naive softmax: loss
        grad_v_c: window: naive softmax: dJ/dv_c
        grad_U: window: naive softmax: dJ/dU
    """
    N, W = U.shape
    o_t = np.asarray(o_t, dtype=np.intp)
    T = len(o_t)
    s = U.T @ v_c
    y_hat, lse = softmax_and_logsumexp(s)
    loss = T*lse - np.sum(s[o_t])
    grad_v_c = U @ (T * y_hat - np.bincount(o_t, minlength=W))
    grad_U = np.outer(v_c, T * y_hat - np.bincount(o_t, minlength=W))
    return loss, grad_v_c, grad_U


def batch_naive_softmax_loss_and_gradients(c_b, o_b, V, U):
    """A batch of (center, outside) pairs in one call: the summed loss and its gradients for V and U.

    Claims:
        loss: window: batch: loss
        grad_U: window: batch: dJ/dU
        grad_V: window: batch: dJ/dV
    """
    N, W = U.shape
    c_b = np.asarray(c_b, dtype=np.intp)
    o_b = np.asarray(o_b, dtype=np.intp)
    S = U.T @ V[:, c_b]
    P, lse = softmax_and_logsumexp(S)
    loss = np.sum(lse - pick(S, o_b))
    E = minus_one_hot_columns(P, o_b)
    grad_U = V[:, c_b] @ E.T
    grad_V = scatter_rows(E.T @ U.T, c_b, W).T
    return loss, grad_V, grad_U


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    """Course signature (row convention: outsideVectors is |V| x N, row w is u_w).
    Returns (loss, gradCenterVec, gradOutsideVecs); dataset is unused.

    Claims:
        loss: naive-softmax: loss as log-sum-exp, seed eq. (F4)
        delta: naive-softmax: dJ/ds, seed eq. (24)
        gradCenterVec: naive-softmax: dJ/dv_c, seed eq. (3)
        gradOutsideVecs: naive-softmax: dJ/dU, seed eq. (4, 5)
    """
    W, N = outsideVectors.shape
    scores = outsideVectors @ centerWordVec
    y_hat, lse = softmax_and_logsumexp(scores)
    loss = lse - scores[outsideWordIdx]
    delta = minus_one_hot(y_hat, outsideWordIdx)
    gradCenterVec = outsideVectors.T @ delta
    gradOutsideVecs = np.outer(delta, centerWordVec)
    return loss, gradCenterVec, gradOutsideVecs


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    """Course signature: K negative samples drawn with dataset.sampleTokenIdx(), skipping the outside word.
    Returns (loss, gradCenterVec, gradOutsideVecs); repeated samples add up.

    Claims:
        loss: neg-sampling: loss in log-sigmoid form
        gradCenterVec: neg-sampling: dJ/dv_c
        gradOutsideVecs: neg-sampling: dJ/dU
    """
    W, N = outsideVectors.shape
    w = np.array(getNegativeSamples(outsideWordIdx, dataset, K), dtype=np.intp)
    negatives = outsideVectors[w] @ centerWordVec
    sigma_o = sigmoid(outsideVectors[outsideWordIdx] @ centerWordVec)
    loss = -log_sigmoid(outsideVectors[outsideWordIdx] @ centerWordVec) - (np.sum(log_sigmoid(-negatives)))
    gradCenterVec = outsideVectors[w].T @ sigmoid(negatives) + (sigma_o - 1) * outsideVectors[outsideWordIdx]
    gradOutsideVecs = np.outer((sigma_o - 1) * one_hot(outsideWordIdx, W) + np.bincount(w, weights=sigmoid(negatives), minlength=W), centerWordVec)
    return loss, gradCenterVec, gradOutsideVecs


def naiveSoftmaxLossAndGradientBatch(centerWordVecs, outsideWordIdxs, outsideVectors):
    """Batched course variant: B pairs, centerWordVecs is B x N (row b is v_{c_b}).
    Returns (summed loss, gradCenterVecs B x N, gradOutsideVecs |V| x N).

    Claims:
        loss: window: batch: loss
        gradCenterVecs: window: batch: dJ/dV
        gradOutsideVecs: window: batch: dJ/dU
    """
    W, N = outsideVectors.shape
    outsideWordIdxs = np.asarray(outsideWordIdxs, dtype=np.intp)
    S = outsideVectors @ centerWordVecs.T
    P, lse = softmax_and_logsumexp(S)
    loss = np.sum(lse - pick(S, outsideWordIdxs))
    E = minus_one_hot_columns(P, outsideWordIdxs)
    gradCenterVecs = E.T @ outsideVectors
    gradOutsideVecs = E @ centerWordVecs
    return loss, gradCenterVecs, gradOutsideVecs


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    """Course signature: the window objective, the sum of the pair loss over the outside words.

    Proved by window: naive softmax: dJ/dv_c and window: neg sampling: dJ/dv_c (the gradient of
    the sum is the sum of the gradients).  The loop runs over the window, not the vocabulary.
    Returns (loss, gradCenterVecs, gradOutsideVectors), shaped like the two embedding matrices.
    """
    loss = 0.0
    gradCenterVecs = np.zeros(centerWordVectors.shape)
    gradOutsideVectors = np.zeros(outsideVectors.shape)
    c = word2Ind[currentCenterWord]
    for word in outsideWords:
        pairLoss, gradCenter, gradOutside = word2vecLossAndGradient(
            centerWordVectors[c], word2Ind[word], outsideVectors, dataset)
        loss += pairLoss
        gradCenterVecs[c] += gradCenter
        gradOutsideVectors += gradOutside
    return loss, gradCenterVecs, gradOutsideVectors
