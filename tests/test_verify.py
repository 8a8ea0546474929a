"""Tests for the verify stage (verify/check.py and the modules under it).

What is established here:

1. The public API check_gradient(fn, inputs, wrt=, grad_fn=, fixed=, labels=): one callable
   returning (loss, grad_a, grad_b); separate loss and gradient functions (grad_fn returning a
   tuple or a dict); a wrong coordinate is named, with its analytic and numeric values; the
   result is frozen and its to_json() is strict JSON.
2. Hygiene, one test per case: input mutation, nondeterminism (loss and gradient, small and
   >= LARGE coordinates), shape, dtype, NaN/inf in gradient and loss, float32 code (passes
   when right to float32 precision, fails on a real bug), kinks ("not differentiable here",
   never a gradient error), a raising function and a wrong number of outputs (kind "error").
3. Directional mode (> FULL_LIMIT coordinates): the generated reference passes for 20 seeds;
   every mutant of verify.mutants is caught and localised to at least one entry; the
   one-entry and two-entry mutants are localised to exactly the entries they change.
4. Evaluation counting: a passing check at >= 1e6 coordinates costs at most 5 calls.
5. verify.finite: Richardson's error estimate, the complex step, the Taylor test, is_kink.
"""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from gradproof.derive import reference as ref
from gradproof.verify import finite
from gradproof.verify.check import FULL_LIMIT, LARGE, check_gradient, check_problem
from gradproof.verify.mutants import MUTANTS, Mutant
from gradproof.verify.signatures import problem_for

EPS64 = float(np.finfo(np.float64).eps)
BIG = 1_200_000  # coordinates for the large-size tests (>= LARGE)
assert BIG >= LARGE


def of_kind(result, kind):
    return [f for f in result.hygiene if f.kind == kind]


def errors(result):
    return [f for f in result.hygiene if f.severity == "error"]


def coordinates(result):
    return sum(c.coordinates for c in result.checks)


def kink_reported(result) -> bool:
    return (any("not differentiable here" in c.note for c in result.checks)
            or any(f.kind == "kink" and "not differentiable here" in f.message for f in result.hygiene))


# A smooth function of two inputs, a (3 x 4) and b (5,), with its exact gradients.
RNG = np.random.default_rng(12345)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=5)


def loss_ab(a, b):
    return float(np.sum(a ** 2) * np.sum(np.sin(b)) + np.sum(np.exp(0.3 * a)))


def grad_a(a, b):
    return 2 * a * np.sum(np.sin(b)) + 0.3 * np.exp(0.3 * a)


def grad_b(a, b):
    return np.sum(a ** 2) * np.cos(b)


def both(a, b):
    return loss_ab(a, b), grad_a(a, b), grad_b(a, b)


# -- 1. the public API -------------------------------------------------------------------------


def test_one_callable_two_named_inputs_passes():
    r = check_gradient(both, {"a": A, "b": B})
    assert r.passed, r
    assert [c.input for c in r.checks] == ["grad[a]", "grad[b]"]
    assert [c.coordinates for c in r.checks] == [12, 5]
    assert all(c.passed and c.worst == () for c in r.checks)
    assert not errors(r)
    assert r.dtype == "float64"
    # every coordinate checked (plus the hygiene calls), so at least one call per coordinate
    assert r.evaluations >= 17


def test_wrt_order_fixed_and_labels():
    def fn(a, b, c):
        return c * loss_ab(a, b), c * grad_b(a, b), c * grad_a(a, b)

    r = check_gradient(fn, {"a": A, "b": B}, wrt=["b", "a"], fixed={"c": 2.5},
                       labels={"a": "gradA", "b": "gradB"})
    assert r.passed, r
    assert [c.input for c in r.checks] == ["gradB", "gradA"]
    # the same function read in the default order (a, b) hands b's gradient to a: a shape error
    wrong_order = check_gradient(fn, {"a": A, "b": B}, fixed={"c": 2.5})
    assert not wrong_order.passed
    assert [f.kind for f in errors(wrong_order)] == ["shape", "shape"]


def test_wrt_subset_checks_only_those_inputs():
    r = check_gradient(lambda a, b: (loss_ab(a, b), grad_b(a, b)), {"a": A, "b": B}, wrt=["b"])
    assert r.passed, r
    assert [c.input for c in r.checks] == ["grad[b]"]


def test_separate_grad_fn_returning_tuple():
    r = check_gradient(loss_ab, {"a": A, "b": B}, grad_fn=lambda a, b: (grad_a(a, b), grad_b(a, b)))
    assert r.passed, r
    assert [c.input for c in r.checks] == ["grad[a]", "grad[b]"]


def test_separate_grad_fn_returning_dict():
    # keys in the "wrong" order: a dict is matched by name, not by position
    r = check_gradient(loss_ab, {"a": A, "b": B}, grad_fn=lambda a, b: {"b": grad_b(a, b), "a": grad_a(a, b)})
    assert r.passed, r
    assert all(c.passed for c in r.checks)


def test_separate_grad_fn_dict_with_wrong_entry_fails():
    def grads(a, b):
        ga = grad_a(a, b)
        ga[1, 2] -= 0.05
        return {"a": ga, "b": grad_b(a, b)}

    r = check_gradient(loss_ab, {"a": A, "b": B}, grad_fn=grads)
    assert not r.passed
    ca, cb = r.checks
    assert cb.passed and not ca.passed
    assert [e.index for e in ca.worst] == ["grad[a][1, 2]"]


def test_separate_grad_fn_dict_missing_name_is_an_error():
    r = check_gradient(loss_ab, {"a": A, "b": B}, grad_fn=lambda a, b: {"a": grad_a(a, b)})
    assert not r.passed
    assert [f.kind for f in errors(r)] == ["error"]
    assert "b" in r.hygiene[0].message


def test_wrong_coordinate_is_named_with_analytic_and_numeric_values():
    def wrong(a, b):
        loss, ga, gb = both(a, b)
        gb = gb.copy()
        gb[2] += 0.1
        return loss, ga, gb

    good = check_gradient(both, {"a": A, "b": B}, labels={"b": "gradB"})
    assert good.passed
    r = check_gradient(wrong, {"a": A, "b": B}, labels={"b": "gradB"})
    assert not r.passed
    ca, cb = r.checks
    assert ca.passed and not cb.passed
    assert len(cb.worst) == 1
    entry = cb.worst[0]
    assert entry.index == "gradB[2]"
    true = grad_b(A, B)[2]
    assert entry.analytic == pytest.approx(true + 0.1, rel=1e-12)
    assert entry.numeric == pytest.approx(true, rel=1e-8, abs=1e-10)
    assert cb.max_abs_error == pytest.approx(0.1, rel=1e-6)


def test_wrong_coordinate_of_a_matrix_is_named_by_row_and_column():
    def wrong(a, b):
        loss, ga, gb = both(a, b)
        ga = ga.copy()
        ga[2, 1] *= -1.0
        return loss, ga, gb

    r = check_gradient(wrong, {"a": A, "b": B})
    assert not r.passed
    ca = r.checks[0]
    assert [e.index for e in ca.worst] == ["grad[a][2, 1]"]
    assert ca.worst[0].analytic == pytest.approx(-grad_a(A, B)[2, 1], rel=1e-12)
    assert ca.worst[0].numeric == pytest.approx(grad_a(A, B)[2, 1], rel=1e-8)


def test_result_is_frozen_and_json_serialisable():
    def wrong(a, b):
        loss, ga, gb = both(a, b)
        return loss, ga, gb + np.array([0, 0, 0.1, 0, 0])

    r = check_gradient(wrong, {"a": A, "b": B}, labels={"b": "gradB"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.passed = True
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.checks[1].passed = True
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.checks[1].worst[0].index = "elsewhere"
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.hygiene[0].severity = "error"
    text = json.dumps(r.to_json(), allow_nan=False)
    data = json.loads(text)
    assert data["passed"] is False
    assert data["checks"][1]["worst"][0]["index"] == "gradB[2]"
    assert data["evaluations"] == r.evaluations
    assert data["seed"] == r.seed == 0


def test_error_result_is_json_serialisable():
    def raises(x):
        raise RuntimeError("no")

    r = check_gradient(raises, {"x": B})
    data = json.loads(json.dumps(r.to_json(), allow_nan=False))
    assert data["passed"] is False and data["checks"] == []
    assert data["hygiene"][0]["kind"] == "error"


# -- 2. hygiene ----------------------------------------------------------------------------------


def square(x):
    return float(np.sum(x ** 2)), 2 * x


def test_input_mutation():
    x = B.copy()

    def mutates(x):
        x[0] += 1.0  # in place: the caller's array changes
        return square(x)

    r = check_gradient(mutates, {"x": x})
    assert not r.passed
    found = of_kind(r, "mutation")
    assert len(found) == 1 and found[0].severity == "error"
    assert "x" in found[0].message
    np.testing.assert_array_equal(x, B)  # the checker called it on a copy


def test_nondeterministic_loss_small():
    noise = np.random.RandomState(0)
    r = check_gradient(lambda x: (float(np.sum(x ** 2)) + 1e-9 * noise.randn(), 2 * x), {"x": B})
    assert not r.passed
    found = of_kind(r, "nondeterminism")
    assert found and all(f.severity == "error" for f in found)
    assert "loss" in found[0].message


def test_nondeterministic_gradient_small():
    noise = np.random.RandomState(0)
    r = check_gradient(lambda x: (float(np.sum(x ** 2)), 2 * x + 1e-9 * noise.randn(*x.shape)), {"x": B})
    assert not r.passed
    found = of_kind(r, "nondeterminism")
    assert found and all(f.severity == "error" for f in found)
    assert "grad[x]" in found[0].message


X_BIG = np.random.default_rng(7).normal(size=BIG)


@pytest.mark.parametrize("noise_seed", range(5))
def test_nondeterministic_loss_large(noise_seed):
    """At >= LARGE coordinates the second call runs only after a failure: a noisy loss must
    still be reported (noise 1e-3 on a loss of about 6e5)."""
    noise = np.random.RandomState(noise_seed)

    def fn(x):
        return 0.5 * float(np.dot(x, x)) + 1e-3 * noise.randn(), x.copy()

    r = check_gradient(fn, {"x": X_BIG}, localise_budget=4)
    assert coordinates(r) >= LARGE
    assert not r.passed, f"a noisy loss passed in {r.evaluations} evaluations: {r.hygiene}"
    found = of_kind(r, "nondeterminism")
    assert found and all(f.severity == "error" for f in found)


def test_nondeterministic_gradient_large():
    noise = np.random.RandomState(0)

    def fn(x):
        return 0.5 * float(np.dot(x, x)), x + 1e-3 * noise.randn(x.size)

    r = check_gradient(fn, {"x": X_BIG}, localise_budget=4)
    assert coordinates(r) >= LARGE
    assert not r.passed
    found = of_kind(r, "nondeterminism")
    assert found and all(f.severity == "error" for f in found)
    assert "grad[x]" in found[0].message


@pytest.mark.parametrize("make", [lambda x: 2 * x[:-1], lambda x: (2 * x).reshape(1, -1), lambda x: np.float64(2.0)],
                         ids=["too short", "extra axis", "scalar"])
def test_gradient_shape_mismatch(make):
    r = check_gradient(lambda x: (float(np.sum(x ** 2)), make(x)), {"x": B})
    assert not r.passed
    assert [(f.kind, f.severity) for f in errors(r)] == [("shape", "error")]
    assert "(5,)" in errors(r)[0].message
    assert r.checks == ()


@pytest.mark.parametrize("make", [lambda x: "gradient", lambda x: None, lambda x: np.array([object()] * 5),
                                  lambda x: np.array(["1.0"] * 5)],
                         ids=["str", "None", "object array", "string array"])
def test_non_numeric_gradient(make):
    r = check_gradient(lambda x: (float(np.sum(x ** 2)), make(x)), {"x": B})
    assert not r.passed
    assert [(f.kind, f.severity) for f in errors(r)] == [("dtype", "error")]
    assert r.checks == ()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_gradient(bad):
    def fn(x):
        g = 2 * x
        g[1] = bad
        return float(np.sum(x ** 2)), g

    r = check_gradient(fn, {"x": B})
    assert not r.passed
    assert [(f.kind, f.severity) for f in errors(r)] == [("nonfinite", "error")]
    assert "1 NaN or inf" in errors(r)[0].message
    assert r.evaluations == 1  # stops before any finite difference


def test_nonfinite_gradient_message_names_the_entry():
    def fn(x):
        g = 2 * x
        g[1, 2] = np.nan
        return float(np.sum(x ** 2)), g

    r = check_gradient(fn, {"x": A})
    message = of_kind(r, "nonfinite")[0].message
    assert "first at grad[x][1, 2]" in message, message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_loss(bad):
    r = check_gradient(lambda x: (bad, 2 * x), {"x": B})
    assert not r.passed
    assert [(f.kind, f.severity) for f in errors(r)] == [("nonfinite", "error")]


def test_loss_nonfinite_at_a_perturbed_point_every_coordinate():
    """log(x) at x0 = 1e-20: the step (relative to the input's RMS) leaves the domain, so the
    numeric partial is NaN.  The gradient [0, 1] is wrong by 1e20 at x0: it must not pass."""
    x = np.array([1e-20, 1.0])
    with np.errstate(all="ignore"):
        r = check_gradient(lambda x: (np.sum(np.log(x)), np.array([0.0, 1.0])), {"x": x})
    assert not r.passed, r


def test_loss_nonfinite_at_a_perturbed_point_directional():
    x = np.abs(np.random.default_rng(3).normal(size=3000)) + 0.5
    x[0] = 1e-20
    with np.errstate(all="ignore"):
        r = check_gradient(lambda x: (np.sum(np.log(x)), np.zeros_like(x)), {"x": x})  # all wrong
    assert coordinates(r) > FULL_LIMIT
    assert not r.passed, r


def f32_loss_grad(x):
    y = x.astype(np.float32)
    return np.float32(np.sum(np.sin(y) * y)), (np.cos(y) * y + np.sin(y)).astype(np.float32)


def test_float32_right_to_float32_precision_passes():
    x = RNG.normal(size=8)
    r = check_gradient(f32_loss_grad, {"x": x})
    assert r.passed, r
    assert r.dtype == "float32"
    found = of_kind(r, "float32")
    assert len(found) == 1 and found[0].severity == "info"
    # it really is only float32-accurate: float64 tolerances would not have been met
    true = np.cos(x) * x + np.sin(x)
    assert np.max(np.abs(f32_loss_grad(x)[1] - true)) > 1e-9


def test_float32_with_a_gradient_bug_fails():
    def buggy(x):
        loss, g = f32_loss_grad(x)
        g[2] *= np.float32(1.05)
        return loss, g

    r = check_gradient(buggy, {"x": RNG.normal(size=8)})
    assert not r.passed
    assert of_kind(r, "float32")[0].severity == "info"
    assert [e.index for e in r.checks[0].worst] == ["grad[x][2]"]


def test_float32_directional():
    x = np.random.default_rng(4).normal(size=3000)
    right = check_gradient(f32_loss_grad, {"x": x})
    assert right.passed and right.dtype == "float32", right

    def missing_term(x):  # d(y sin y)/dy without its sin y term
        y = x.astype(np.float32)
        return np.float32(np.sum(np.sin(y) * y)), (np.cos(y) * y).astype(np.float32)

    wrong = check_gradient(missing_term, {"x": x})
    assert coordinates(wrong) > FULL_LIMIT
    assert not wrong.passed


# Kinks: sum|x| and relu at a point with entries exactly 0, with one-sided gradients.
KINK_SMALL = np.array([0.0, 1.0, -2.0, 0.5, 0.0, 3.0])
KINK_LARGE = np.random.default_rng(5).normal(size=3000)
KINK_LARGE[::3] = 0.0

KINKED = {
    "abs, forward slope": lambda x: (float(np.sum(np.abs(x))), np.where(x >= 0, 1.0, -1.0)),
    "abs, backward slope": lambda x: (float(np.sum(np.abs(x))), np.where(x > 0, 1.0, -1.0)),
    "relu, forward slope": lambda x: (float(np.sum(np.maximum(x, 0.0))), (x >= 0).astype(float)),
    "relu, backward slope": lambda x: (float(np.sum(np.maximum(x, 0.0))), (x > 0).astype(float)),
}


@pytest.mark.parametrize("name", list(KINKED))
def test_kink_every_coordinate_is_not_a_gradient_error(name):
    r = check_gradient(KINKED[name], {"x": KINK_SMALL})
    assert coordinates(r) <= FULL_LIMIT
    assert r.passed, r
    assert all(c.worst == () for c in r.checks)


@pytest.mark.parametrize("name", list(KINKED))
def test_kink_every_coordinate_is_reported_not_differentiable(name):
    r = check_gradient(KINKED[name], {"x": KINK_SMALL})
    assert kink_reported(r), f"no 'not differentiable here' at a kink: notes {[c.note for c in r.checks]}, " \
                             f"findings {[f.kind for f in r.hygiene]}"


@pytest.mark.parametrize("name", list(KINKED))
def test_kink_directional_is_not_a_gradient_error(name):
    r = check_gradient(KINKED[name], {"x": KINK_LARGE})
    assert coordinates(r) > FULL_LIMIT
    assert r.passed, r


@pytest.mark.parametrize("name", list(KINKED))
def test_kink_directional_is_reported_not_differentiable(name):
    r = check_gradient(KINKED[name], {"x": KINK_LARGE})
    assert kink_reported(r), f"no 'not differentiable here' at a kink: notes {[c.note for c in r.checks]}, " \
                             f"findings {[f.kind for f in r.hygiene]}"


def test_wrong_gradient_at_a_kink_still_fails_every_coordinate():
    # slope 100 at |x| where x = 0: not a one-sided slope (those are +-1), a wrong gradient
    r = check_gradient(lambda x: (float(np.sum(np.abs(x))), np.r_[100.0, np.sign(x[1:])]), {"x": KINK_SMALL})
    assert not r.passed
    assert [e.index for e in r.checks[0].worst] == ["grad[x][0]"]


def test_wrong_gradient_at_a_kink_still_fails_directional():
    x = np.random.default_rng(6).normal(size=3000)
    x[5] = 0.0

    def fn(x):
        g = np.sign(x)
        g[5] = 100.0  # the one-sided slopes are +-1
        return float(np.sum(np.abs(x))), g

    r = check_gradient(fn, {"x": x})
    assert coordinates(r) > FULL_LIMIT
    assert not r.passed, r


def test_function_that_raises_is_an_error_finding():
    def raises(x):
        raise ValueError("boom")

    r = check_gradient(raises, {"x": B})
    assert not r.passed
    assert [(f.kind, f.severity) for f in r.hygiene] == [("error", "error")]
    assert "ValueError" in r.hygiene[0].message and "boom" in r.hygiene[0].message
    assert r.checks == ()


def test_function_that_raises_away_from_the_point_is_an_error_finding():
    def raises_when_moved(x):
        if not np.array_equal(x, B):
            raise ZeroDivisionError("moved")
        return square(x)

    r = check_gradient(raises_when_moved, {"x": B})
    assert not r.passed
    assert [f.kind for f in errors(r)] == ["error"]
    assert "ZeroDivisionError" in errors(r)[0].message


def test_grad_fn_that_raises_is_an_error_finding():
    r = check_gradient(lambda x: float(np.sum(x ** 2)), {"x": B}, grad_fn=lambda x: 1 / 0)
    assert not r.passed
    assert [f.kind for f in errors(r)] == ["error"]
    assert "ZeroDivisionError" in errors(r)[0].message


@pytest.mark.parametrize("fn, inputs", [
    (lambda x: (float(np.sum(x ** 2)), 2 * x, 2 * x), {"x": B}),
    (lambda x: (float(np.sum(x ** 2)),), {"x": B}),
    (lambda x: float(np.sum(x ** 2)), {"x": B}),
    (lambda a, b: (loss_ab(a, b), grad_a(a, b)), {"a": A, "b": B}),
    (lambda x: (2 * x, 2 * x), {"x": B}),  # a vector where the loss belongs
], ids=["3 outputs for 1 input", "loss only in a tuple", "bare loss", "1 gradient for 2 inputs", "vector loss"])
def test_wrong_number_of_outputs_is_an_error_finding(fn, inputs):
    r = check_gradient(fn, inputs)
    assert not r.passed
    assert [(f.kind, f.severity) for f in r.hygiene] == [("error", "error")]
    assert r.checks == ()


# -- 3. directional mode -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_reference_passes_in_directional_mode(seed):
    r = check_problem(problem_for(ref.naiveSoftmaxLossAndGradient, 3000, 20, seed), seed=seed)
    assert coordinates(r) == 3000 * 20 + 20 > FULL_LIMIT
    assert r.passed, r
    assert not errors(r)


@pytest.mark.parametrize("signature, fn, companions", [
    ("negSamplingLossAndGradient", ref.negSamplingLossAndGradient, {}),
    ("skipgram", ref.skipgram, {"naiveSoftmaxLossAndGradient": ref.naiveSoftmaxLossAndGradient}),
    ("naiveSoftmaxLossAndGradientBatch", ref.naiveSoftmaxLossAndGradientBatch, {}),
])
def test_other_references_pass_in_directional_mode(signature, fn, companions):
    for seed in range(3):
        r = check_problem(problem_for(fn, 2000, 20, seed, signature=signature, companions=companions), seed=seed)
        assert coordinates(r) > FULL_LIMIT
        assert r.passed, (seed, r)


def mutant_result(m: Mutant, seed: int = 0):
    return check_problem(problem_for(m.fn, 2000, 20, seed, signature=m.signature, companions=dict(m.companions)),
                         seed=seed)


def by_name(name: str) -> Mutant:
    return next(m for m in MUTANTS if m.name == name)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_is_caught_and_localised(mutant):
    r = mutant_result(mutant)
    assert coordinates(r) > FULL_LIMIT
    assert not r.passed
    failing = [c for c in r.checks if not c.passed]
    assert failing
    for c in failing:
        assert c.worst, f"{c.input} fails but no entry was localised"
        assert all(e.index.startswith(c.input + "[") for e in c.worst)
        assert all(abs(e.analytic - e.numeric) > 0 for e in c.worst)


def test_one_entry_mutant_is_localised_to_its_entry():
    r = mutant_result(by_name("one entry +1e-2"))
    assert not r.passed
    center, outside = r.checks
    assert center.passed and not outside.passed
    assert [e.index for e in outside.worst] == [f"gradOutsideVecs[{2000 // 7}, {3 % 20}]"]
    entry = outside.worst[0]
    assert entry.analytic - entry.numeric == pytest.approx(1e-2, rel=1e-3)


def test_two_entry_mutant_is_localised_to_both_entries():
    r = mutant_result(by_name("two entries +1/-1"))
    assert not r.passed
    center, outside = r.checks
    assert center.passed and not outside.passed
    changes = {e.index: e.analytic - e.numeric for e in outside.worst}
    assert set(changes) == {f"gradOutsideVecs[{2000 // 5}, 1]", f"gradOutsideVecs[{2000 // 2}, 1]"}
    assert changes[f"gradOutsideVecs[{2000 // 5}, 1]"] == pytest.approx(1.0, rel=1e-3)
    assert changes[f"gradOutsideVecs[{2000 // 2}, 1]"] == pytest.approx(-1.0, rel=1e-3)


# -- 4. evaluation counting ----------------------------------------------------------------------


def half_square(x):
    return 0.5 * float(np.dot(x, x)), x.copy()


def test_passing_large_check_uses_at_most_five_evaluations():
    r = check_gradient(half_square, {"x": X_BIG})
    assert coordinates(r) == BIG >= LARGE
    assert r.passed, r
    assert 1 < r.evaluations <= 5


def test_failing_large_check_is_caught_with_the_same_probe():
    # the counting test is only meaningful if that cheap check can fail at this size
    r = check_gradient(lambda x: (0.5 * float(np.dot(x, x)), 1.001 * x), {"x": X_BIG}, localise_budget=4)
    assert not r.passed


# -- 5. verify.finite ----------------------------------------------------------------------------


@pytest.mark.parametrize("name, f, df", [("sin", np.sin, np.cos), ("exp", np.exp, np.exp)])
@pytest.mark.parametrize("x", [-2.0, -0.7, 0.0, 0.3, 1.0, 2.5])
@pytest.mark.parametrize("h", [1e-2, 1e-3, 1e-4])
def test_richardson_error_estimate_bounds_the_error(name, f, df, x, h):
    d = finite.richardson(lambda t: float(f(x + t)), h, float(f(x)), EPS64)
    actual = abs(d.value - df(x))
    assert actual <= d.error
    assert d.error < 1e-4 * max(1.0, abs(df(x)))  # and the estimate is not vacuous
    assert d.evaluations == 3


def test_richardson_removes_the_h_squared_term():
    # plain central differences at h = 1e-2 are off by about h^2/6; Richardson is far closer
    h, x = 1e-2, 0.4
    central = (np.sin(x + h) - np.sin(x - h)) / (2 * h)
    d = finite.richardson(lambda t: float(np.sin(x + t)), h, float(np.sin(x)), EPS64)
    assert abs(d.value - np.cos(x)) < abs(central - np.cos(x)) / 100


def test_complex_step_of_exp_at_zero():
    assert abs(finite.complex_step(lambda z: np.exp(z), 1e-20) - 1.0) <= 1e-15
    assert abs(finite.complex_step(lambda z: np.exp(z), 1e-8) - 1.0) <= 1e-15


@pytest.mark.parametrize("phi, slope", [(np.exp, 1.0), (lambda t: np.sin(0.3 + t), math.cos(0.3))])
def test_taylor_order_two_for_the_right_slope(phi, slope):
    t = finite.taylor_test(phi, float(phi(0.0)), slope, 0.1)
    assert t.order == pytest.approx(2.0, abs=0.15)
    assert t.says_correct


@pytest.mark.parametrize("phi, slope", [(np.exp, 1.5), (lambda t: np.sin(0.3 + t), math.cos(0.3) * 0.9)])
def test_taylor_order_one_for_a_wrong_slope(phi, slope):
    t = finite.taylor_test(phi, float(phi(0.0)), slope, 0.1)
    assert t.order == pytest.approx(1.0, abs=0.15)
    assert not t.says_correct


@pytest.mark.parametrize("h", [1e-4, 1e-2])
def test_is_kink_detects_abs_at_zero(h):
    d = finite.richardson(abs, h, 0.0, EPS64)
    kink = finite.is_kink(dict(d.values), 0.0, h, EPS64)
    assert kink is not None
    assert kink.forward == pytest.approx(1.0) and kink.backward == pytest.approx(-1.0)
    assert kink.jump == pytest.approx(2.0)


@pytest.mark.parametrize("h", [1e-4, 1e-2])
def test_is_kink_not_for_sin_at_zero(h):
    d = finite.richardson(np.sin, h, 0.0, EPS64)
    assert finite.is_kink(dict(d.values), 0.0, h, EPS64) is None


def test_is_kink_relu_and_smooth_curvature():
    h = 1e-3
    relu = finite.richardson(lambda t: max(t, 0.0), h, 0.0, EPS64)
    assert finite.is_kink(dict(relu.values), 0.0, h, EPS64) is not None
    # strong curvature is not a kink: exp(50 t) has phi'' = 2500
    curved = finite.richardson(lambda t: math.exp(50 * t), h, 1.0, EPS64)
    assert finite.is_kink(dict(curved.values), 1.0, h, EPS64) is None
