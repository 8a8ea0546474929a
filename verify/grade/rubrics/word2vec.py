"""The word2vec assignment's own glue (CS224n assignment 2): what its model files cannot say yet.

skipgram (it calls a pair function the grader stands in for, with words and a window); sigmoid,
naiveSoftmaxLossAndGradient and negSamplingLossAndGradient (word2vec.toml) and the math convention's
two functions (word2vec-math.toml) are graded from their model files.  Each case is made here, its expected values come from the
generated reference (derive.reference), and its suspects (mistakes students make, named in the
derivation's terms) are listed here.  The rubric word2vec.toml names these functions
([[function]] glue = "word2vec.py"); the grading engine names none of them.
"""
from __future__ import annotations

import numpy as np

from gradproof.derive import reference as ref
from gradproof.verify.grade.assignment import SIZE, Case, Function
from gradproof.verify.grade.diagnose import Suspect, close  # noqa: F401 - close: for glue that needs it
from gradproof.verify.mutants import skipgram_wrong_column

PAIR_FUNCTIONS = ("naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient")


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


# -- the grader's pair functions (skipgram's stand-ins) ----------------------------------------------


class _Replay:
    def __init__(self, sequence):
        self._it = iter(sequence)

    def sampleTokenIdx(self):  # noqa: N802
        return next(self._it)


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
    args = (words[c], window, outside, word2ind, {"$a": 0}, {"$a": 1}, {"$dataset": [], "sampler": "sampleTokenIdx"})
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


def _triple(out):
    loss, a, b = out
    return np.array(float(loss)), np.asarray(a, dtype=float), np.asarray(b, dtype=float)





# -- suspects ---------

ROLES = ("loss", "center", "outside")


def _skipgram_variant(case, role, words):
    d = case.data
    names = {f"w{i}": i for i in range(len(d["U"]))}
    pair, outside = pair_function(case), [f"w{i}" for i in d["outside"]]
    if words == "wrong row":
        out = skipgram_wrong_column(f"w{d['c']}", 1, outside, names, d["V"], d["U"], None, pair)
    elif words == "naive always":
        if d["pair"] == "naive":
            return None
        out = ref.skipgram(f"w{d['c']}", 1, outside, names, d["V"], d["U"], None, pair_function(case, "naive"))
    elif words == "default neg":
        if not d.get("default"):
            return None
        out = ref.skipgram(f"w{d['c']}", 1, outside, names, d["V"], d["U"], None, pair_function(case, "neg"))
    else:
        out = ref.skipgram(f"w{d['c']}", 1, outside[-1:], names, d["V"], d["U"], None, pair)
    return {"loss": np.array(out[0]), "center": out[1], "outside": out[2]}[role]


ALL = ("skipgram",)
SUSPECTS: tuple[Suspect, ...] = (
    Suspect(ALL, "center", "{name} has the opposite sign", lambda c, E, d: -E["center"]),
    Suspect(ALL, "outside", "{name} has the opposite sign", lambda c, E, d: -E["outside"]),
    Suspect(ALL, "loss", "the loss has the opposite sign (J = -log of a probability is positive)", lambda c, E, d: -E["loss"]),
    Suspect(ALL, "outside", "{name} looks transposed: it must have one {row} per word (the shape of the outside vectors)",
            lambda c, E, d: E["outside"].T),
    Suspect(ALL, "outside", "{name} looks transposed: an outer product taken the other way round, then reshaped",
            lambda c, E, d: E["outside"].T.reshape(E["outside"].shape)),
    Suspect(("skipgram",), "center", "{name} is added to the outside words' rows: it belongs in the center word's row",
            lambda c, E, d: _skipgram_variant(c, "center", "wrong row")),
    *(Suspect(("skipgram",), role, "skipgram ignores its word2vecLossAndGradient argument: it always uses naive softmax",
              lambda c, E, d, r=role: _skipgram_variant(c, r, "naive always")) for role in ROLES),
    Suspect(("skipgram",), "loss", "only the last outside word counts: add each pair's loss with +=",
            lambda c, E, d: _skipgram_variant(c, "loss", "last")),
    Suspect(("skipgram",), "outside", "only the last outside word counts: add each pair's gradient with +=",
            lambda c, E, d: _skipgram_variant(c, "outside", "last")),
    Suspect(("skipgram",), "center", "only the last outside word counts: add each pair's gradient with +=",
            lambda c, E, d: _skipgram_variant(c, "center", "last")),
    *(Suspect(("skipgram",), role, "skipgram's default word2vecLossAndGradient is negSamplingLossAndGradient: the "
              "handout's default (used when the argument is left out) is naiveSoftmaxLossAndGradient",
              lambda c, E, d, r=role: _skipgram_variant(c, r, "default neg")) for role in ROLES),
    *(Suspect(("skipgram",), role, "{name} is scaled by the window size: each outside word counts once, whatever "
              "windowSize is", lambda c, E, d, r=role, f=f: f(c.data["window"]) * E[r])
      for role in ROLES for f in (lambda w: w, lambda w: 1 / w, lambda w: 2 * w, lambda w: 1 / (2 * w))),
)


OVERFLOW = {
    "skipgram": "overflow: subtract max(s) before exp (softmax is unchanged by the shift)",
}
LOG_SIGMOID = ("overflow: log(sigmoid(x)) reached log(0) at a large score; compute log sigmoid(x) as "
               "-np.logaddexp(0, -x)")




def _words(case: Case) -> dict:
    """How the messages name a word's slice of a gradient in the function's convention."""
    extra = {"window": case.data.get("window", ""),
             "moved": "they belong in the row of the word they are the gradient of (for skipgram's center gradient, "
                      "word2Ind[currentCenterWord])"}
    return {"row": "row", "at": "[indices]", **extra}


def _with(case: Case, values: tuple) -> Case:
    data = {**case.data, "V": values[0], "U": values[1]}
    return Case(case.function, case.label, case.kind, case.args, values, data)


def _skipgram_callback(case: Case, arrays: tuple | None = None):
    """The grader's answers to skipgram's calls of its pair function, for the case's arrays (or others:
    the gradient test moves them)."""
    return pair_callback(case if arrays is None else _with(case, arrays))


def _function(name, outputs, make, expected, arguments, convention="course", sized=False, gradients=((0, 1), (1, 2)),
              roles=ROLES, callback=None) -> Function:
    return Function(name, outputs, make, expected, convention, sized, arguments=arguments, roles=roles,
                    gradients=gradients, suspects=SUSPECTS, overflow=OVERFLOW.get(name, LOG_SIGMOID), words=_words,
                    callback=callback)


skipgram = _function("skipgram", ("loss", "gradCenterVecs", "gradOutsideVectors"), _skipgram_case, _skipgram_expected,
                     ("centerWordVectors", "outsideVectors"), callback=_skipgram_callback)
