"""The mutation suite: wrong gradients of the skip-gram losses, in the course signatures.

Each mutant wraps the proved reference and breaks its gradient in one way that people
actually get wrong, leaving the loss right, so only a gradient check can catch it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradproof.derive import reference as ref


@dataclass(frozen=True)
class Mutant:
    name: str
    signature: str  # which course function it stands in for
    fn: Callable
    companions: tuple[tuple[str, Callable], ...] = ()  # functions a skipgram mutant calls


def _naive(change: Callable) -> Callable:
    """A naiveSoftmaxLossAndGradient whose gradients pass through change(...)."""
    def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
        loss, g_center, g_outside = ref.naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset)
        return (loss, *change(g_center, g_outside, centerWordVec, outsideWordIdx, outsideVectors))
    return naiveSoftmaxLossAndGradient


def _forgot_y(gc, go, v, o, O):
    gc, go = gc + O[o], go.copy()
    go[o] += v
    return gc, go


def _transposed(gc, go, v, o, O):
    # the outer product taken the other way round, then reshaped to fit: a transpose bug
    return gc, go.T.reshape(go.shape)


def _row_zeroed(gc, go, v, o, O):
    go = go.copy()
    go[len(go) // 3] = 0.0
    return gc, go


def _entry(delta):
    def change(gc, go, v, o, O):
        go = go.copy()
        go[len(go) // 7, 3 % go.shape[1]] += delta
        return gc, go
    return change


def _pair(gc, go, v, o, O):
    go = go.copy()
    go[len(go) // 5, 1] += 1.0
    go[len(go) // 2, 1] -= 1.0
    return gc, go


def _y_for_y_hat(gc, go, v, o, O):
    # y_hat - y with y in place of y_hat is zero: both gradients vanish
    return np.zeros_like(gc), np.zeros_like(go)


def _missing_u_o(gc, go, v, o, O):
    return gc + O[o], go


def _upper_half(gc, go, v, o, O):
    go = go.copy()
    go[len(go) // 2 + 1:] *= 2.0  # e.g. a loop that visits the upper half twice
    return gc, go


def negSamplingLossAndGradient_sign_on_u_k(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    """The sampled words' terms with the wrong sign: +sigma(-u_k.v) where sigma(u_k.v) belongs."""
    w = np.array(ref.getNegativeSamples(outsideWordIdx, dataset, K), dtype=np.intp)
    v, O = centerWordVec, outsideVectors
    s_o, negatives = O[outsideWordIdx] @ v, O[w] @ v
    loss = -ref.log_sigmoid(s_o) - np.sum(ref.log_sigmoid(-negatives))
    g_center = (ref.sigmoid(s_o) - 1) * O[outsideWordIdx] - O[w].T @ ref.sigmoid(-negatives)
    g_outside = np.zeros_like(O)
    g_outside[outsideWordIdx] = (ref.sigmoid(s_o) - 1) * v
    np.add.at(g_outside, w, -np.outer(ref.sigmoid(-negatives), v))
    return loss, g_center, g_outside


def skipgram_wrong_column(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors,
                          dataset, word2vecLossAndGradient=ref.naiveSoftmaxLossAndGradient):
    """dJ/dV added to the outside word's column (row, in the course convention) instead of the center's."""
    loss = 0.0
    g_centers, g_outside = np.zeros(centerWordVectors.shape), np.zeros(outsideVectors.shape)
    c = word2Ind[currentCenterWord]
    for word in outsideWords:
        pair_loss, g_center, g_out = word2vecLossAndGradient(centerWordVectors[c], word2Ind[word], outsideVectors, dataset)
        loss += pair_loss
        g_centers[word2Ind[word]] += g_center
        g_outside += g_out
    return loss, g_centers, g_outside


NAIVE = "naiveSoftmaxLossAndGradient"
MUTANTS: tuple[Mutant, ...] = (
    Mutant("forgot -y", NAIVE, _naive(_forgot_y)),
    Mutant("sign flipped", NAIVE, _naive(lambda gc, go, *_: (-gc, -go))),
    Mutant("transposed", NAIVE, _naive(_transposed)),
    Mutant("scaled by 1.01", NAIVE, _naive(lambda gc, go, *_: (1.01 * gc, 1.01 * go))),
    Mutant("one row zeroed", NAIVE, _naive(_row_zeroed)),
    Mutant("one entry +1e-2", NAIVE, _naive(_entry(1e-2))),
    Mutant("two entries +1/-1", NAIVE, _naive(_pair)),
    Mutant("y used for y_hat", NAIVE, _naive(_y_for_y_hat)),
    Mutant("dJ/dV in the wrong column", "skipgram", skipgram_wrong_column, ((NAIVE, ref.naiveSoftmaxLossAndGradient),)),
    Mutant("missing -u_o", NAIVE, _naive(_missing_u_o)),
    Mutant("neg sampling: sign error on u_k", "negSamplingLossAndGradient", negSamplingLossAndGradient_sign_on_u_k),
    Mutant("wrong only for words above |V|/2", NAIVE, _naive(_upper_half)),
)

CORRECT: tuple[Mutant, ...] = (
    Mutant("correct", NAIVE, ref.naiveSoftmaxLossAndGradient),
    Mutant("correct", "negSamplingLossAndGradient", ref.negSamplingLossAndGradient),
    Mutant("correct", "skipgram", ref.skipgram, ((NAIVE, ref.naiveSoftmaxLossAndGradient),)),
)
