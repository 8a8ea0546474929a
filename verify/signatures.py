"""The familiar signatures: build their inputs and wrap them as Problems.

Course code (CS224n word2vec) uses the row convention: outsideVectors is |V| x N with row
w equal to u_w.  gradproof's generated code also has column-convention names.  Inputs
are drawn so that scores u_w . v_c are of order 1, as in training.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .problem import Evaluation, Point, Problem, ProblemError, own_point as as_point


class ReplayDataset:
    """A dataset whose sampleTokenIdx replays one fixed sequence, restarted for every
    call of the function, so that negative sampling is a deterministic function of the
    embeddings; it records what it handed out (the rows that carry signal)."""

    def __init__(self, vocab: int, seed: int, length: int = 4096):
        self._sequence = np.random.default_rng(seed).integers(0, vocab, size=length).tolist()
        self._vocab = vocab
        self.drawn: list[int] = []

    def restart(self) -> None:
        self.drawn = []

    def sampleTokenIdx(self) -> int:  # noqa: N802 - the course's name
        if len(self.drawn) >= len(self._sequence):
            raise ProblemError("the function drew more than 4096 negative samples")
        index = self._sequence[len(self.drawn)]
        self.drawn.append(index)
        return index

    def tokens(self):
        return {f"w{i}": i for i in range(self._vocab)}


@dataclass(frozen=True)
class Signature:
    name: str
    build: Callable[[Callable, int, int, int, Mapping[str, Callable]], Problem]


def _embeddings(rng, rows, dim):
    x = rng.standard_normal((rows, dim))  # the values of rng.normal(size=...), without a second array
    x /= np.sqrt(dim)
    return x


def _top_rows(scores, count=8):
    return np.argsort(scores)[-count:]


def _course_pair(fn, vocab, dim, seed, companions, negative=False) -> Problem:
    rng = np.random.default_rng(seed)
    center, outside = rng.normal(size=dim), _embeddings(rng, vocab, dim)
    o = int(rng.integers(vocab))
    dataset = ReplayDataset(vocab, seed + 1)

    def evaluate(x: Point) -> Evaluation:
        dataset.restart()
        loss, g_center, g_outside = _three(fn(x["centerWordVec"], o, x["outsideVectors"], dataset))
        return Evaluation(loss, {"centerWordVec": g_center, "outsideVectors": g_outside})

    rows = [o] + list(_top_rows(outside @ center))
    if negative:  # the samples it will draw are the first ones of the replayed sequence
        rows += dataset._sequence[:64]
    return Problem(fn.__name__, as_point({"centerWordVec": center, "outsideVectors": outside}), evaluate,
                   {"centerWordVec": "gradCenterVec", "outsideVectors": "gradOutsideVecs"},
                   {"outsideVectors": np.unique(np.asarray(rows, dtype=np.intp))})


def _course_batch(fn, vocab, dim, seed, companions, batch=8) -> Problem:
    rng = np.random.default_rng(seed)
    centers, outside = rng.normal(size=(batch, dim)), _embeddings(rng, vocab, dim)
    o = rng.integers(vocab, size=batch)

    def evaluate(x: Point) -> Evaluation:
        loss, g_centers, g_outside = _three(fn(x["centerWordVecs"], o.copy(), x["outsideVectors"]))
        return Evaluation(loss, {"centerWordVecs": g_centers, "outsideVectors": g_outside})

    return Problem(fn.__name__, as_point({"centerWordVecs": centers, "outsideVectors": outside}), evaluate,
                   {"centerWordVecs": "gradCenterVecs", "outsideVectors": "gradOutsideVecs"},
                   {"outsideVectors": np.unique(o)})


def _course_skipgram(fn, vocab, dim, seed, companions) -> Problem:
    rng = np.random.default_rng(seed)
    centers, outside = _embeddings(rng, vocab, dim) * np.sqrt(dim), _embeddings(rng, vocab, dim)
    dataset = ReplayDataset(vocab, seed + 1)
    word2ind = dataset.tokens()
    words = list(word2ind)
    c = int(rng.integers(vocab))
    window = [words[i] for i in rng.integers(vocab, size=4)]
    pair = companions.get("naiveSoftmaxLossAndGradient")
    extra = {} if pair is None else {"word2vecLossAndGradient": pair}

    def evaluate(x: Point) -> Evaluation:
        dataset.restart()
        loss, g_centers, g_outside = _three(fn(words[c], 2, list(window), word2ind, x["centerWordVectors"],
                                               x["outsideVectors"], dataset, **extra))
        return Evaluation(loss, {"centerWordVectors": g_centers, "outsideVectors": g_outside})

    return Problem(fn.__name__, as_point({"centerWordVectors": centers, "outsideVectors": outside}), evaluate,
                   {"centerWordVectors": "gradCenterVecs", "outsideVectors": "gradOutsideVectors"},
                   {"centerWordVectors": np.array([c]), "outsideVectors": np.unique([word2ind[w] for w in window])})


def _math_pair(fn, vocab, dim, seed, companions, negative=False) -> Problem:
    rng = np.random.default_rng(seed)
    v, U = rng.normal(size=dim), _embeddings(rng, vocab, dim).T
    o = int(rng.integers(vocab))
    w = rng.integers(vocab, size=10)
    call = (lambda x: fn(x["v_c"], o, x["U"], w.copy())) if negative else (lambda x: fn(x["v_c"], o, x["U"]))

    def evaluate(x: Point) -> Evaluation:
        loss, g_v, g_U = _three(call(x))
        return Evaluation(loss, {"v_c": g_v, "U": g_U})

    return Problem(fn.__name__, as_point({"v_c": v, "U": U}), evaluate, {"v_c": "grad_v_c", "U": "grad_U"})


def _three(out):
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise ProblemError("expected (loss, gradient, gradient) from the function")
    return out[0], out[1], out[2]


SIGNATURES: dict[str, Signature] = {
    "naiveSoftmaxLossAndGradient": Signature("naiveSoftmaxLossAndGradient", _course_pair),
    "negSamplingLossAndGradient": Signature(
        "negSamplingLossAndGradient", lambda *a: _course_pair(*a, negative=True)),
    "naiveSoftmaxLossAndGradientBatch": Signature("naiveSoftmaxLossAndGradientBatch", _course_batch),
    "skipgram": Signature("skipgram", _course_skipgram),
    "naive_softmax_loss_and_gradients": Signature("naive_softmax_loss_and_gradients", _math_pair),
    "neg_sampling_loss_and_gradients": Signature(
        "neg_sampling_loss_and_gradients", lambda *a: _math_pair(*a, negative=True)),
}


def problem_for(fn: Callable, vocab: int, dim: int, seed: int, *, signature: str | None = None,
                companions: Mapping[str, Callable] | None = None) -> Problem:
    """A Problem for a function with one of the known signatures (by its name, or signature=)."""
    key = signature or getattr(fn, "__name__", "")
    if key not in SIGNATURES:
        raise ProblemError(f"unknown signature '{key}' (known: {', '.join(SIGNATURES)})")
    return SIGNATURES[key].build(fn, vocab, dim, seed, dict(companions or {}))
