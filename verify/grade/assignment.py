"""What a word2vec submission is asked for: each function's cases and its expected outputs.

A case is plain data: JSON-able arguments that refer to float64 arrays by position
({"$a": i}), a replayed dataset ({"$dataset": sequence}) or the grader's pair function
({"$callback": ...}).  Expected outputs come from the generated reference (derive.reference),
computed here in the grader, never in the child.  Hidden cases are drawn from a seed the
submission never sees, at sizes it cannot guess, so hard-coded numbers fail.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradproof.derive import reference as ref

# public: shown; hidden: randomized; large: scores near 1000 (stability); size: a hidden case at a
# size where a gradient taken numerically, coordinate by coordinate, cannot finish in the time
# limit while the analytic one takes milliseconds
KINDS = ("public", "hidden", "large", "size")
SIZE = (3000, 48)  # |V| x N: 144,000 coordinates, each a forward pass for a numerical gradient
PAIR_FUNCTIONS = ("naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient")


@dataclass(frozen=True)
class Case:
    function: str
    label: str          # "public case 1", "hidden case 3", "large scores"
    kind: str           # one of KINDS
    args: tuple         # JSON-able, arrays as {"$a": i}
    arrays: tuple       # the float64 arrays the args refer to
    data: dict          # the same inputs by name, for the expected values and the diagnoses
    stand_ins: tuple = ()  # functions of the submission the grader computes instead during this call


@dataclass(frozen=True)
class Function:
    name: str
    outputs: tuple[str, ...]
    make: Callable[[np.random.Generator, str, int], Case]  # (rng, kind, index among the kind's cases)
    expected: Callable[[Case, tuple[int, ...]], tuple[np.ndarray, ...] | str]  # str: why none can be given
    convention: str = "course"
    sized: bool = False  # has a case of kind "size"

    @property
    def returns(self) -> int:
        return len(self.outputs)


def _sizes(rng, kind):
    if kind == "public":
        return 5, 3
    if kind == "size":
        return SIZE
    return int(rng.integers(5, 41)), int(rng.integers(3, 13))


def _rows(rng, vocab, dim):
    """Unit rows, as the course's normalizeRows gives."""
    x = rng.normal(size=(vocab, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _pair_inputs(rng, kind):
    vocab, dim = _sizes(rng, kind)
    U, v, o = _rows(rng, vocab, dim), rng.normal(size=dim), int(rng.integers(vocab))
    if kind == "large":  # every score near 1000 (within +-10): exp overflows unless the maximum is
        # subtracted first, while no probability underflows, so a stable -log(y_hat_o) stays finite
        U[:, 0] = 1.0 + 0.01 * rng.normal(size=vocab)
        v = np.concatenate([[1000.0], rng.normal(size=dim - 1)])
    return v, o, U, vocab


# -- sigmoid -------------------------------------------------------------------------------------


def _sigmoid_case(rng, kind, index):
    shape = (5,) if kind == "public" else tuple(int(n) for n in rng.integers(1, 7, size=int(rng.integers(1, 3))))
    x = rng.normal(scale=3.0, size=shape)
    if kind == "large":
        x = np.array([-1000.0, -745.5, -40.0, 0.0, 40.0, 745.5, 1000.0])
    return Case("sigmoid", "", kind, ({"$a": 0},), (x,), {"x": x})


# -- naive softmax ---------------------------------------------------------------------------------


def _naive_case(rng, kind, index):
    v, o, U, vocab = _pair_inputs(rng, kind)
    return Case("naiveSoftmaxLossAndGradient", "", kind, ({"$a": 0}, o, {"$a": 1}, {"$dataset": [], "vocab": vocab}),
                (v, U), {"v": v, "o": o, "U": U})


def _naive_expected(case, drawn):
    d = case.data
    return _triple(ref.naiveSoftmaxLossAndGradient(d["v"], d["o"], d["U"], None))


# -- negative sampling -----------------------------------------------------------------------------


def _neg_case(rng, kind, index):
    v, o, U, vocab = _pair_inputs(rng, kind)
    if kind == "large":  # scores near +-40: exp(40) and sigma(-40) are still normal floats
        v = v / 25.0
    K = 3 if kind == "public" else int(rng.integers(2, 11))
    # every case has what a sampler must get right: a word drawn twice in a row (its terms add up)
    # and the outside word among the first draws (skipped, and drawn again)
    sequence = rng.integers(vocab, size=8 * K + 16)
    repeated = (o + 1 + int(rng.integers(vocab - 1))) % vocab
    sequence[0] = sequence[1] = repeated
    sequence[2 + int(rng.integers(K))] = o
    sequence = [int(s) for s in sequence]
    return Case("negSamplingLossAndGradient", "", kind,
                ({"$a": 0}, o, {"$a": 1}, {"$dataset": sequence, "vocab": vocab}, K), (v, U),
                {"v": v, "o": o, "U": U, "K": K, "sequence": sequence})


def negatives(case: Case, drawn: int) -> list[int] | str:
    """The negative samples a correct getNegativeSamples makes of the draws the submission made."""
    d = case.data
    taken = [s for s in d["sequence"][:drawn] if s != d["o"]][: d["K"]]
    if len(taken) < d["K"]:
        return (f"the submission drew {drawn} samples from the dataset, too few for K={d['K']} negative samples "
                "(getNegativeSamples draws until it has K words other than the outside word)")
    return taken


class _Replay:
    def __init__(self, sequence):
        self._it = iter(sequence)

    def sampleTokenIdx(self):  # noqa: N802
        return next(self._it)


def _neg_expected(case, drawn):
    taken = negatives(case, drawn[0] if drawn else 0)
    if isinstance(taken, str):
        return taken
    d = case.data
    return _triple(ref.negSamplingLossAndGradient(d["v"], d["o"], d["U"], _Replay(taken), d["K"]))


# -- skipgram --------------------------------------------------------------------------------------


def _skipgram_case(rng, kind, index):
    """A window of at least two outside words, none of them the center word, with a window size of
    2 to 5 (a mistake that scales by the window size shows at every case); the pair function handed
    in is the grader's naive softmax, or (every other hidden case) its negative sampling with
    samples fixed per outside word, so a skipgram that ignores the argument is caught.  The first
    hidden case leaves the pair function out, as the handout's own test does: the default must be
    naive softmax."""
    vocab, dim = _sizes(rng, kind)
    words = [f"w{i}" for i in range(vocab)]
    word2ind = {w: i for i, w in enumerate(words)}
    V, U = rng.normal(size=(vocab, dim)), _rows(rng, vocab, dim)
    # never the first, middle or last row: a gradient written into a fixed row shows on every case
    c = int(rng.choice([i for i in range(vocab) if i not in (0, vocab // 2, vocab - 1)]))
    window = int(rng.integers(5, 8))  # 5 to 7: a window-size scaling never looks like a factor 2 or 3 mistake
    others = [i for i in range(vocab) if i != c]
    # two to four outside words (a window of 5 to 7 could hold 14, but any two show every mistake)
    outside = [words[others[i]] for i in rng.integers(len(others), size=int(rng.integers(2, 5)))]
    default = kind == "hidden" and index == 0
    pair = "neg" if kind == "hidden" and index % 2 == 1 else "naive"
    K = int(rng.integers(2, 6))
    samples = {o: [int(w) for w in rng.choice([i for i in range(vocab) if i != o], size=K)] for o in range(vocab)}
    name = PAIR_FUNCTIONS[1] if pair == "neg" else PAIR_FUNCTIONS[0]
    args = (words[c], window, outside, word2ind, {"$a": 0}, {"$a": 1}, {"$dataset": [], "vocab": vocab})
    return Case("skipgram", "", kind, args if default else args + ({"$callback": name},),
                (V, U), {"V": V, "U": U, "c": c, "outside": [word2ind[w] for w in outside], "pair": pair,
                         "samples": samples, "window": window, "default": default}, PAIR_FUNCTIONS)


def pair_function(case: Case, pair: str | None = None):
    """The grader's pair function of a skipgram case (course signature)."""
    samples = case.data["samples"]
    if (pair or case.data["pair"]) == "neg":
        return lambda v, o, U, _: ref.negSamplingLossAndGradient(v, o, U, _Replay(samples[o]), len(samples[o]))
    return lambda v, o, U, _: ref.naiveSoftmaxLossAndGradient(v, o, U, None)


def _skipgram_expected(case, drawn):
    d = case.data
    words = {f"w{i}": i for i in range(len(d["U"]))}
    outside = [f"w{i}" for i in d["outside"]]
    return _triple(ref.skipgram(f"w{d['c']}", d["window"], outside, words, d["V"], d["U"], None, pair_function(case)))


def pair_callback(case: Case):
    """Answer skipgram's calls of a pair function (the one it was handed, or one it calls by name),
    but only for the inputs this case passes: the center word's own row, the case's outside
    vectors, an index of the window."""
    d = case.data

    def answer(header: dict, arrays: list):
        name, args = header.get("name"), header.get("args")
        if name not in PAIR_FUNCTIONS or not isinstance(args, list) or len(args) < 3 or len(arrays) != 2:
            return None
        index = args[1]
        if (args[0] != {"$a": 0} or args[2] != {"$a": 1} or type(index) is not int or index not in d["outside"]
                or arrays[0].shape != d["V"][d["c"]].shape or not np.array_equal(arrays[0], d["V"][d["c"]])
                or arrays[1].shape != d["U"].shape or not np.array_equal(arrays[1], d["U"])):
            return None
        pair = pair_function(case, "neg" if name == PAIR_FUNCTIONS[1] else "naive")
        loss, gc, go = pair(arrays[0], index, arrays[1], None)
        return np.array(loss), gc, go
    return answer


# -- the math convention ----------------------------------------------------------------------------


def _math_naive_case(rng, kind, index):
    v, o, U, vocab = _pair_inputs(rng, kind)
    return Case("naive_softmax_loss_and_gradients", "", kind, ({"$a": 0}, o, {"$a": 1}), (v, U.T.copy()),
                {"v": v, "o": o, "U": U.T.copy()})


def _math_neg_case(rng, kind, index):
    v, o, U, vocab = _pair_inputs(rng, kind)
    if kind == "large":
        v = v / 25.0
    w = rng.integers(vocab, size=3 if kind == "public" else int(rng.integers(2, 11)))
    w = np.where(w == o, (o + 1) % vocab, w)
    w[-1] = w[0]  # a repeated sample
    return Case("neg_sampling_loss_and_gradients", "", kind, ({"$a": 0}, o, {"$a": 1}, [int(i) for i in w]),
                (v, U.T.copy()), {"v": v, "o": o, "U": U.T.copy(), "w": w})


def _triple(out):
    loss, a, b = out
    return np.array(float(loss)), np.asarray(a, dtype=float), np.asarray(b, dtype=float)


COURSE = (
    Function("sigmoid", ("sigmoid(x)",), _sigmoid_case, lambda case, drawn: (ref.sigmoid(case.data["x"]),)),
    Function("naiveSoftmaxLossAndGradient", ("loss", "gradCenterVec", "gradOutsideVecs"), _naive_case, _naive_expected,
             sized=True),
    Function("negSamplingLossAndGradient", ("loss", "gradCenterVec", "gradOutsideVecs"), _neg_case, _neg_expected,
             sized=True),
    Function("skipgram", ("loss", "gradCenterVecs", "gradOutsideVectors"), _skipgram_case, _skipgram_expected),
)
MATH = (
    Function("naive_softmax_loss_and_gradients", ("loss", "grad_v_c", "grad_U"), _math_naive_case,
             lambda case, drawn: _triple(ref.naive_softmax_loss_and_gradients(case.data["v"], case.data["o"], case.data["U"])),
             "math", sized=True),
    Function("neg_sampling_loss_and_gradients", ("loss", "grad_v_c", "grad_U"), _math_neg_case,
             lambda case, drawn: _triple(ref.neg_sampling_loss_and_gradients(case.data["v"], case.data["o"], case.data["U"],
                                                                             case.data["w"])), "math", sized=True),
)
FUNCTIONS: dict[str, Function] = {f.name: f for f in COURSE + MATH}


def cases(function: Function, kind: str, count: int, seed: int) -> list[Case]:
    """count cases of one kind, each from its own stream of (seed, function, kind, i)."""
    return list(_cases(function.name, kind, count, seed))


@functools.lru_cache(maxsize=64)
def _cases(name: str, kind: str, count: int, seed: int) -> tuple[Case, ...]:
    """Made once per seed: a class is graded on one seed, and the full-size cases cost more to draw than
    to grade.  Their arrays are read-only, so no grading of one submission can change another's cases."""
    function = FUNCTIONS[name]
    tag = sum(map(ord, function.name)) * 7919 + KINDS.index(kind)
    made = []
    for i in range(count):
        rng = np.random.default_rng([seed, tag, i])
        label = {"large": "large scores", "size": "hidden case at full size"}.get(kind, f"{kind} case {i + 1}")
        case = dataclasses.replace(function.make(rng, kind, i), label=label)
        for value in list(case.arrays) + list(case.data.values()):
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        made.append(case)
    return tuple(made)
