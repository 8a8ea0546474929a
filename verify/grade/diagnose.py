"""Name the mistake: compare a wrong output with what known mistakes would have produced.

Each suspect is one line: the functions it applies to, the output role it concerns
("loss", "center", "outside", "value"), what the output would be with that mistake, and
what to tell the student, in the terms of the derivation.  Adding a diagnosis is adding
a line.  Candidates are computed from the reference in the grader, never shown for
hidden cases; only the message is.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradproof.derive import reference as ref

from ..mutants import negSamplingLossAndGradient_sign_on_u_k, skipgram_wrong_column
from .assignment import Case, _Replay, negatives, pair_function

PAIRS = ("naiveSoftmaxLossAndGradient", "naive_softmax_loss_and_gradients")
NEGS = ("negSamplingLossAndGradient", "neg_sampling_loss_and_gradients")
ROLES = ("loss", "center", "outside")


@dataclass(frozen=True)
class Suspect:
    functions: tuple[str, ...]
    role: str
    message: str  # {name} is the output's name; {row} "row" or "column", {at} how a student indexes a word's
    # gradient, in the function's convention
    candidate: Callable[[Case, dict, tuple], np.ndarray | None]


def _math(case: Case) -> bool:
    return case.function in ("naive_softmax_loss_and_gradients", "neg_sampling_loss_and_gradients")


def _rows(case: Case):
    """(v, o, U with rows u_w) whatever the convention."""
    d = case.data
    return d["v"], d["o"], (d["U"].T if _math(case) else d["U"])


def _outside(case: Case, rows: np.ndarray) -> np.ndarray:
    """A gradient with respect to the outside vectors, from the row layout to the function's."""
    return rows.T if _math(case) else rows


def _one_hot_outer(case: Case, scale: float = 1.0) -> np.ndarray:
    v, o, U = _rows(case)
    rows = np.zeros_like(U)
    rows[o] = scale * v
    return _outside(case, rows)


def _samples(case: Case, drawn: tuple) -> list[int] | None:
    if _math(case):
        return [int(i) for i in case.data["w"]]
    taken = negatives(case, drawn[0] if drawn else 0)
    return None if isinstance(taken, str) else taken


def _repeats_once(case, E, drawn):
    w = _samples(case, drawn)
    if w is None or len(set(w)) == len(w):
        return None
    v, o, U = _rows(case)
    rows = (E["outside"].T if _math(case) else E["outside"]).copy()
    for k in set(w):
        rows[k] -= (w.count(k) - 1) * ref.sigmoid(U[k] @ v) * v
    return _outside(case, rows)


def _neg_sign(case, E, drawn, role):
    w = _samples(case, drawn)
    if w is None:
        return None
    v, o, U = _rows(case)
    out = negSamplingLossAndGradient_sign_on_u_k(v, o, U, _Replay(w), len(w))
    return {"loss": np.array(out[0]), "center": out[1], "outside": _outside(case, out[2])}[role]


def _u_k_opposite(case, E, drawn, role):
    """The sampled words' terms with the opposite sign: -sigma(u_k.v_c) u_k and -sigma(u_k.v_c) v_c."""
    w = _samples(case, drawn)
    if w is None:
        return None
    v, o, U = _rows(case)
    s = ref.sigmoid(U[w] @ v)
    if role == "center":
        return E["center"] - 2 * (s @ U[w])
    rows = np.zeros_like(U)
    np.add.at(rows, w, np.outer(s, v))
    return E["outside"] - 2 * _outside(case, rows)


def _log_sigma_plus(case, E, drawn, role):
    """+log sigma(u_k.v_c) in place of -log sigma(-u_k.v_c) for each sample: the loss and its own gradient."""
    w = _samples(case, drawn)
    if w is None:
        return None
    v, o, U = _rows(case)
    s = U[w] @ v
    if role == "loss":
        return np.asarray(E["loss"] + np.sum(np.log(ref.sigmoid(s))) + np.sum(np.log(ref.sigmoid(-s))))
    if role == "center":
        return E["center"] + (1 - 2 * ref.sigmoid(s)) @ U[w]
    rows = np.zeros_like(U)
    np.add.at(rows, w, np.outer(1 - 2 * ref.sigmoid(s), v))
    return E["outside"] + _outside(case, rows)


def _sigmoid_flipped(case, E, drawn, role):
    """sigma(-x) in place of sigma(x) throughout: J and dJ/dv_c are the right ones at -v_c, dJ/dU minus the right one."""
    w = _samples(case, drawn)
    if w is None:
        return None
    v, o, U = _rows(case)
    loss, center, columns = ref.neg_sampling_loss_and_gradients(-v, o, U.T, w)
    return {"loss": np.array(loss), "center": center, "outside": -_outside(case, columns.T)}[role]


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


ALL = PAIRS + NEGS + ("skipgram",)
SUSPECTS: tuple[Suspect, ...] = (
    Suspect(ALL, "center", "{name} has the opposite sign", lambda c, E, d: -E["center"]),
    Suspect(ALL, "outside", "{name} has the opposite sign", lambda c, E, d: -E["outside"]),
    Suspect(ALL, "loss", "the loss has the opposite sign (J = -log of a probability is positive)", lambda c, E, d: -E["loss"]),
    Suspect(ALL, "outside", "{name} looks transposed: it must have one {row} per word (the shape of the outside vectors)",
            lambda c, E, d: E["outside"].T),
    Suspect(ALL, "outside", "{name} looks transposed: an outer product taken the other way round, then reshaped",
            lambda c, E, d: E["outside"].T.reshape(E["outside"].shape)),
    Suspect(PAIRS, "center", "the -y term (the true outside word's -u_o) is missing from {name}: it is U y_hat, not U (y_hat - y)",
            lambda c, E, d: E["center"] + _rows(c)[2][_rows(c)[1]]),
    Suspect(PAIRS, "outside", "the -y term is missing from {name}: the true outside word's {row} needs -v_c (y_hat - y, not y_hat)",
            lambda c, E, d: E["outside"] + _one_hot_outer(c)),
    Suspect(PAIRS, "center", "the y_hat term is missing from {name}: only -u_o is left of U (y_hat - y)",
            lambda c, E, d: -_rows(c)[2][_rows(c)[1]]),
    Suspect(PAIRS, "outside", "the y_hat term is missing from {name}: only the -v_c in the true outside word's {row} is left",
            lambda c, E, d: -_one_hot_outer(c)),
    Suspect(PAIRS, "center", "y used in place of y_hat: y - y is zero, so {name} vanishes", lambda c, E, d: 0 * E["center"]),
    Suspect(PAIRS, "outside", "y used in place of y_hat: y - y is zero, so {name} vanishes", lambda c, E, d: 0 * E["outside"]),
    Suspect(PAIRS, "loss", "the loss is missing its -u_o.v_c term (only log sum exp is left)",
            lambda c, E, d: E["loss"] + _rows(c)[2][_rows(c)[1]] @ _rows(c)[0]),
    Suspect(NEGS, "center", "the sampled words' terms have the wrong sign: sigma(u_k.v_c) u_k belongs where sigma(-u_k.v_c) u_k is used",
            lambda c, E, d: _neg_sign(c, E, d, "center")),
    Suspect(NEGS, "outside", "the sampled words' terms have the wrong sign: sigma(u_k.v_c) v_c belongs in {row} k",
            lambda c, E, d: _neg_sign(c, E, d, "outside")),
    Suspect(NEGS, "outside", "a word sampled more than once gets the gradient of one of its draws only, not the sum of "
            "all of them: each draw's term must be added to its {row} (with +=, or np.add.at where the {row}s are "
            "indexed with an array, since {name}{at} += ... adds a repeated index once)", _repeats_once),
    *(Suspect(NEGS, r, "the sampled words' terms use +log sigma(u_k.v_c) in place of -log sigma(-u_k.v_c): "
              "{name} is what that loss gives",
              lambda c, E, d, r=r: _log_sigma_plus(c, E, d, r)) for r in ROLES),
    Suspect(NEGS, "center", "the true outside word's term (sigma(u_o.v_c) - 1) u_o is missing from {name}",
            lambda c, E, d: E["center"] - (ref.sigmoid(_rows(c)[2][_rows(c)[1]] @ _rows(c)[0]) - 1) * _rows(c)[2][_rows(c)[1]]),
    Suspect(NEGS, "center", "the sampled words' terms have the opposite sign: d/dv_c of -log sigma(-u_k.v_c) is +sigma(u_k.v_c) u_k "
            "(the chain rule's -1 from -u_k.v_c is lost)", lambda c, E, d: _u_k_opposite(c, E, d, "center")),
    Suspect(NEGS, "outside", "the sampled words' terms have the opposite sign: d/du_k of -log sigma(-u_k.v_c) is +sigma(u_k.v_c) v_c "
            "(the chain rule's -1 from -u_k.v_c is lost)", lambda c, E, d: _u_k_opposite(c, E, d, "outside")),
    *(Suspect(NEGS[:1], r, "{name} is what sigma(-x) in place of sigma(x) gives: the exponent's sign in sigmoid is flipped "
              "(see the sigmoid test)", lambda c, E, d, r=r: _sigmoid_flipped(c, E, d, r)) for r in ROLES),
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
    Suspect(("sigmoid",), "value", "the exponent's sign is flipped: sigmoid(x) = 1 / (1 + exp(-x))",
            lambda c, E, d: ref.sigmoid(-c.data["x"])),
)

def factor(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> float | None:
    """The number r (not 0 or 1) with got = r * want, measured, if there is one."""
    if got.shape != want.shape or not np.any(want) or not np.all(np.isfinite(got)):
        return None
    r = float(np.vdot(want, got) / np.vdot(want, want))
    if not np.isfinite(r) or abs(r) < 1e-12 or abs(r - 1) < 1e-6 or not close(got, r * want, rtol, atol):
        return None
    return r


def _factor_words(r: float) -> str:
    """'a factor 3 (3 times the right value)', 'a factor 1/2 (half the right value)', as measured."""
    for n in range(2, 13):
        if abs(r - n) < 1e-6 * n:
            return f"a factor {n} ({'twice' if n == 2 else f'{n} times'} the right value)"
        if abs(r - 1 / n) < 1e-6 / n:
            return f"a factor 1/{n} ({'half' if n == 2 else f'1/{n} of'} the right value)"
    return f"a factor {r:.4g} ({r:.4g} times the right value)"

OVERFLOW = {
    "sigmoid": "overflow in exp for large |x|: compute sigmoid from exp(-|x|) (or use np.where on the sign of x)",
    "naiveSoftmaxLossAndGradient": "overflow: subtract max(s) before exp (softmax is unchanged by the shift)",
    "naive_softmax_loss_and_gradients": "overflow: subtract max(s) before exp (softmax is unchanged by the shift)",
    "skipgram": "overflow: subtract max(s) before exp (softmax is unchanged by the shift)",
}
LOG_SIGMOID = ("overflow: log(sigmoid(x)) reached log(0) at a large score; compute log sigmoid(x) as "
               "-np.logaddexp(0, -x)")


def role(function: str, index: int) -> str:
    return "value" if function == "sigmoid" else ROLES[index]


def close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    """Same shape, and every entry within atol + rtol * (the largest expected entry, at least 1)."""
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return False
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1.0)
    return bool(np.all(np.abs(got - want) <= atol + rtol * scale))


def diagnose(case: Case, expected: dict, drawn: tuple, index: int, name: str, got: np.ndarray,
             rtol: float, atol: float) -> str | None:
    """The message of the first known mistake that explains got, or None."""
    want = expected[role(case.function, index)]
    if got.size and not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        if case.function in OVERFLOW:
            return OVERFLOW[case.function]
        return LOG_SIGMOID
    if got.shape == want.shape and np.any(want) and not np.any(got):
        zero = [s for s in SUSPECTS if case.function in s.functions and s.role == role(case.function, index)
                and "vanishes" in s.message]
        return zero[0].message.format(name=name, **_words(case)) if zero else f"{name} is all zeros"
    for suspect in SUSPECTS:
        if case.function not in suspect.functions or suspect.role != role(case.function, index):
            continue
        try:
            candidate = suspect.candidate(case, expected, drawn)
        except (ValueError, IndexError, KeyError, TypeError):
            continue
        if candidate is not None and _differs(candidate, want) and close(got, np.asarray(candidate, dtype=float), rtol, atol):
            return suspect.message.format(name=name, **_words(case))
    moved = _moved_row(got, want, rtol, atol)
    if moved is not None:
        return f"{name} has the right values in the wrong {_words(case)['row']}: {moved}"
    r = factor(got, want, rtol, atol)
    if r is not None and r > 0:
        return f"{name} is off by {_factor_words(r)}"
    return None


def _moved_row(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str | None:
    """Where the one row with values of want sits in got, if got has the same values in another row only."""
    if got.ndim != 2 or got.shape != want.shape:
        return None
    have, need = np.flatnonzero(np.any(got != 0, axis=1)), np.flatnonzero(np.any(want != 0, axis=1))
    if len(have) != 1 or len(need) != 1 or have[0] == need[0] or not close(got[have[0]], want[need[0]], rtol, atol):
        return None
    return "they belong in the row of the word they are the gradient of (for skipgram's center gradient, " \
           "word2Ind[currentCenterWord])"


def _words(case: Case) -> dict:
    """How the messages name a word's slice of a gradient in the function's convention."""
    extra = {"window": case.data.get("window", "")}
    return {"row": "column", "at": "[:, indices]", **extra} if _math(case) else {"row": "row", "at": "[indices]", **extra}


def where_wrong(got: np.ndarray, want: np.ndarray, rtol: float, atol: float, limit: int = 6) -> str:
    """Which rows (or entries) are off, without their values: safe to say for hidden cases."""
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1.0)
    bad = np.abs(got - want) > atol + rtol * scale
    if got.ndim == 2:
        rows = np.flatnonzero(bad.any(axis=1))
        shown = ", ".join(map(str, rows[:limit])) + (", ..." if len(rows) > limit else "")
        return f"wrong in {len(rows)} of {got.shape[0]} rows ({shown})"
    if got.ndim == 1:
        entries = np.flatnonzero(bad)
        shown = ", ".join(map(str, entries[:limit])) + (", ..." if len(entries) > limit else "")
        return f"wrong in {len(entries)} of {got.size} entries ({shown})"
    return "wrong"


def _differs(candidate, want: np.ndarray) -> bool:
    """A candidate only explains something if the mistake changes the output (shape or values)."""
    candidate = np.asarray(candidate, dtype=float)
    return candidate.shape != want.shape or bool(np.any(candidate != want))
