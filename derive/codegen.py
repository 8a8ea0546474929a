"""Generate the NumPy reference module from the proved matrix forms.

Each generated function is a short list of assignments.  The right-hand sides are the
``matrix`` forms of proved claims, with named intermediate results substituted back in
(``s = U.T @ v_c`` once, then ``softmax(s)``), printed by ``ReferencePrinter``.  The row
convention of course code (outsideVectors, |V| x N, row w is u_w) is the same forms with
U replaced by outsideVectors^T, and its gradient the transpose of dJ/dU.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy import MatMul, MatrixSymbol, Symbol, Transpose

from .algebra import Elem, Gather, LogSumExp, OneHot, OneHotColumns, Sigmoid, Softmax
from .models import B, K, MODELS, N, U, V, W, c, centers, o, outsides, samples, v_c
from .printer import to_numpy

REGENERATE = "gradproof generate"
OUTPUT = "derive/reference.py"


@dataclass(frozen=True)
class Step:
    name: str
    expr: sp.Basic
    claim: str = ""  # "model: claim (eq)" that proves this line


@dataclass(frozen=True)
class Function:
    name: str
    params: str
    doc: str
    prelude: tuple[str, ...]
    steps: tuple[Step, ...]
    returns: str


def _claims():
    return {(cl.model, cl.name): cl for make in MODELS.values() for cl in make().claims}


def _cite(claim) -> str:
    eq = f", seed eq. ({claim.equation})" if claim.equation else ""
    return f"{claim.model}: {claim.name}{eq}"


def _substitute(expr, mapping):
    if isinstance(expr, tuple):
        return tuple(_substitute(e, mapping) for e in expr)
    return expr.xreplace(mapping)


def _canon(expr):
    """One spelling per expression, so that substitution by name finds every occurrence."""
    expr = sp.sympify(expr).doit()
    return expr.replace(lambda e: isinstance(e, Transpose) and isinstance(e.arg, Transpose), lambda e: e.arg.arg)


def _shorten(expr, named):
    """Substitute earlier results by their names, largest subexpression first; a scaled
    copy (-negatives) and a transposed copy (e^T) count as occurrences too."""
    for sub, sym in named:
        expr = expr.xreplace({sub: sym})
        if isinstance(sub, MatMul):
            tail = list(sub.as_coeff_matrices()[1])
            n = len(tail)
            expr = expr.replace(  # U.T @ V @ e_c with h = V @ e_c named: U.T @ h
                lambda e: isinstance(e, MatMul) and len(e.args) > n and list(e.args[-n:]) == tail,
                lambda e: MatMul(*e.args[:-n], sym))
            expr = expr.replace(  # V @ e_c @ e^T: h @ e^T
                lambda e: isinstance(e, MatMul) and len(e.args) > n and list(e.args[:n]) == tail,
                lambda e: MatMul(sym, *e.args[n:]))
            expr = expr.replace(
                lambda e: isinstance(e, MatMul) and e != sub and MatMul(*e.as_coeff_matrices()[1]) == sub,
                lambda e: e.as_coeff_matrices()[0] * sym)
    return expr


def _assemble(name, params, doc, prelude, plan, returns, rename=None):
    """plan: (result name, matrix expression, claim or None, is_intermediate)."""
    named, steps = [], []
    for result, expr, claim in plan:
        # a step may compute several results in one call: ("y_hat, lse", (Softmax(s), LogSumExp(s)))
        parts = tuple(_canon(rename(e) if rename is not None else e) for e in (expr if isinstance(expr, tuple) else (expr,)))
        short = sp.Tuple(*[_shorten(e, named) for e in parts]) if len(parts) > 1 else _shorten(parts[0], named)
        steps.append(Step(result, short, _cite(claim) if claim is not None else ""))
        for label, part in zip(result.split(", "), parts):
            if getattr(part, "is_Matrix", False):
                sym = MatrixSymbol(label, *part.shape)
                named[:0] = [(part, sym), (_canon(Transpose(part)), Transpose(sym))]
            else:
                named.insert(0, (part, Symbol(label)))
    return Function(name, params, doc, tuple(prelude), tuple(steps), returns)


def functions() -> tuple[Function, ...]:
    cl = _claims()
    naive, neg, win = "naive-softmax", "neg-sampling", "window"
    scores = U.T * v_c
    y_hat = Softmax(scores)
    e = y_hat - OneHot(o, W)
    naive_plan = [
        ("s", scores, None),
        ("y_hat, lse", (y_hat, LogSumExp(scores)), None),
        ("loss", cl[naive, "loss as log-sum-exp"].matrix, cl[naive, "loss as log-sum-exp"]),
        ("e", e, cl[naive, "dJ/ds"]),
        ("grad_v_c", cl[naive, "dJ/dv_c"].matrix, cl[naive, "dJ/dv_c"]),
        ("grad_U", cl[naive, "dJ/dU"].matrix, cl[naive, "dJ/dU"]),
    ]
    h = V * OneHot(c, W)
    dV = cl[naive, "dJ/dV"].matrix
    pair_plan = [("h", h, None)] + [
        (n, _substitute(ex, {v_c: h}), c_) for n, ex, c_ in naive_plan[:4]] + [
        ("grad_V", dV, cl[naive, "dJ/dV"]),
        ("grad_U", cl[naive, "dJ/dU"].matrix.xreplace({v_c: h}), cl[naive, "dJ/dU"])]
    negatives = Gather(U, samples, K).T * v_c
    sigma_o = Elem(Sigmoid(scores), o, 0)
    neg_plan = [
        ("negatives", negatives, None),
        ("sigma_o", sigma_o, None),
        ("loss", cl[neg, "loss in log-sigmoid form"].matrix, cl[neg, "loss in log-sigmoid form"]),
        ("grad_v_c", cl[neg, "dJ/dv_c"].matrix, cl[neg, "dJ/dv_c"]),
        ("grad_U", cl[neg, "dJ/dU"].matrix, cl[neg, "dJ/dU"]),
    ]
    window_plan = [
        ("s", scores, None),
        ("y_hat, lse", (y_hat, LogSumExp(scores)), None),
        ("loss", cl[win, "naive softmax: loss"].matrix, cl[win, "naive softmax: loss"]),
        ("grad_v_c", cl[win, "naive softmax: dJ/dv_c"].matrix, cl[win, "naive softmax: dJ/dv_c"]),
        ("grad_U", cl[win, "naive softmax: dJ/dU"].matrix, cl[win, "naive softmax: dJ/dU"]),
    ]
    Vc = Gather(V, centers, B)
    S_ = U.T * Vc
    E = Softmax(S_) - OneHotColumns(outsides, W, B)
    batch_plan = [
        ("S", S_, None),
        ("P, lse", (Softmax(S_), LogSumExp(S_)), None),
        ("loss", cl[win, "batch: loss"].matrix, cl[win, "batch: loss"]),
        ("E", E, None),
        ("grad_U", cl[win, "batch: dJ/dU"].matrix, cl[win, "batch: dJ/dU"]),
        ("grad_V", cl[win, "batch: dJ/dV"].matrix, cl[win, "batch: dJ/dV"]),
    ]
    math = [
        _assemble("naive_softmax_loss_and_gradients", "v_c, o, U",
                  "Skip-gram loss J = -log softmax(U^T v_c)[o] and its gradients (column convention: U is N x |V|).",
                  ["N, W = U.shape"], naive_plan, "loss, grad_v_c, grad_U"),
        _assemble("skipgram_pair_loss_and_gradients", "c, o, V, U",
                  "The seed's full model: h = V x = v_c for the one-hot x of center word c; returns (J, dJ/dV, dJ/dU).",
                  ["N, W = U.shape"], pair_plan, "loss, grad_V, grad_U"),
        _assemble("neg_sampling_loss_and_gradients", "v_c, o, U, w",
                  "Negative-sampling loss with the K sampled indices w (repeats allowed; o may appear).",
                  ["N, W = U.shape", "w = np.asarray(w, dtype=np.intp)"], neg_plan, "loss, grad_v_c, grad_U"),
        _assemble("window_naive_softmax_loss_and_gradients", "v_c, o_t, U",
                  "The window objective: the naive-softmax loss summed over the outside words o_t of one center word.",
                  ["N, W = U.shape", "o_t = np.asarray(o_t, dtype=np.intp)", "T = len(o_t)"], window_plan,
                  "loss, grad_v_c, grad_U"),
        _assemble("batch_naive_softmax_loss_and_gradients", "c_b, o_b, V, U",
                  "A batch of (center, outside) pairs in one call: the summed loss and its gradients for V and U.",
                  ["N, W = U.shape", "c_b = np.asarray(c_b, dtype=np.intp)", "o_b = np.asarray(o_b, dtype=np.intp)"],
                  batch_plan, "loss, grad_V, grad_U"),
    ]
    return tuple(math) + _course(cl)


# -- the row convention of course code ------------------------------------------------------

O = MatrixSymbol("outsideVectors", W, N)
center = MatrixSymbol("centerWordVec", N, 1)
o_idx = Symbol("outsideWordIdx", integer=True)
C = MatrixSymbol("centerWordVecs", B, N)
o_batch = sp.IndexedBase("outsideWordIdxs", integer=True)


def _rows(expr):
    """The column-convention form with U = outsideVectors^T."""
    return expr.xreplace({U: Transpose(O), v_c: center, o: o_idx})


def _course(cl) -> tuple[Function, ...]:
    naive, neg, win = "naive-softmax", "neg-sampling", "window"
    scores = O * center
    e = Softmax(scores) - OneHot(o_idx, W)
    naive_rows = [
        ("scores", scores, None),
        ("y_hat, lse", (Softmax(scores), LogSumExp(scores)), None),
        ("loss", _rows(cl[naive, "loss as log-sum-exp"].matrix), cl[naive, "loss as log-sum-exp"]),
        ("delta", e, cl[naive, "dJ/ds"]),
        ("gradCenterVec", _rows(cl[naive, "dJ/dv_c"].matrix), cl[naive, "dJ/dv_c"]),
        ("gradOutsideVecs", Transpose(_rows(cl[naive, "dJ/dU"].matrix)).doit(), cl[naive, "dJ/dU"]),
    ]
    negatives = _rows(Gather(U, samples, K).T * v_c)
    neg_rows = [
        ("negatives", negatives, None),
        ("sigma_o", Elem(Sigmoid(scores), o_idx, 0), None),
        ("loss", _rows(cl[neg, "loss in log-sigmoid form"].matrix), cl[neg, "loss in log-sigmoid form"]),
        ("gradCenterVec", _rows(cl[neg, "dJ/dv_c"].matrix), cl[neg, "dJ/dv_c"]),
        ("gradOutsideVecs", Transpose(_rows(cl[neg, "dJ/dU"].matrix)).doit(), cl[neg, "dJ/dU"]),
    ]
    Vc = Gather(V, centers, B)
    to_rows = lambda ex: _rows(ex).xreplace({Vc: Transpose(C), outsides: o_batch})
    S_ = O * Transpose(C)
    E = Softmax(S_) - OneHotColumns(o_batch, W, B)
    dV = cl[win, "batch: dJ/dV"].matrix  # Scatter((U E)^T, c_b, W)^T: its rows before scattering
    batch_rows = [
        ("S", S_, None),
        ("P, lse", (Softmax(S_), LogSumExp(S_)), None),
        ("loss", to_rows(cl[win, "batch: loss"].matrix), cl[win, "batch: loss"]),
        ("E", E, None),
        ("gradCenterVecs", to_rows(dV.arg.args[0]), cl[win, "batch: dJ/dV"]),
        ("gradOutsideVecs", Transpose(to_rows(cl[win, "batch: dJ/dU"].matrix)).doit(), cl[win, "batch: dJ/dU"]),
    ]
    return (
        _assemble("naiveSoftmaxLossAndGradient", "centerWordVec, outsideWordIdx, outsideVectors, dataset",
                  "Course signature (row convention: outsideVectors is |V| x N, row w is u_w).\n"
                  "Returns (loss, gradCenterVec, gradOutsideVecs); dataset is unused.",
                  ["W, N = outsideVectors.shape"], naive_rows, "loss, gradCenterVec, gradOutsideVecs"),
        _assemble("negSamplingLossAndGradient", "centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10",
                  "Course signature: K negative samples drawn with dataset.sampleTokenIdx(), skipping the outside word.\n"
                  "Returns (loss, gradCenterVec, gradOutsideVecs); repeated samples add up.",
                  ["W, N = outsideVectors.shape", "w = np.array(getNegativeSamples(outsideWordIdx, dataset, K), dtype=np.intp)"],
                  neg_rows, "loss, gradCenterVec, gradOutsideVecs"),
        _assemble("naiveSoftmaxLossAndGradientBatch", "centerWordVecs, outsideWordIdxs, outsideVectors",
                  "Batched course variant: B pairs, centerWordVecs is B x N (row b is v_{c_b}).\n"
                  "Returns (summed loss, gradCenterVecs B x N, gradOutsideVecs |V| x N).",
                  ["W, N = outsideVectors.shape", "outsideWordIdxs = np.asarray(outsideWordIdxs, dtype=np.intp)"],
                  batch_rows, "loss, gradCenterVecs, gradOutsideVecs"),
    )


# -- the module text -------------------------------------------------------------------------

PREAMBLE = '''\
# Generated by `{command}` from the proved matrix forms in derive/models.py.
# Do not edit: a test fails when regenerating would change this file.
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
'''

SKIPGRAM = '''

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
'''


def render_function(f: Function) -> str:
    lines = [f"def {f.name}({f.params}):", f'    """{f.doc}'.replace("\n", "\n    "), "", "    Claims:"]
    lines += [f"        {step.name}: {step.claim}" for step in f.steps if step.claim]
    lines.append('    """')
    lines += [f"    {p}" for p in f.prelude]
    for step in f.steps:
        lines.append(f"    {step.name} = {to_numpy(step.expr)}")
    lines.append(f"    return {f.returns}")
    return "\n".join(lines)


def generate() -> str:
    body = "\n\n\n".join(render_function(f) for f in functions())
    return PREAMBLE.format(command=REGENERATE) + "\n\n" + body + "\n" + SKIPGRAM
