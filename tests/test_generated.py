"""The functions generated from the four models shipped beside word2vec: each agrees with a
careful hand-written NumPy version to 1e-10 relative, passes the gradient check, stays finite
and right at scores of +-1000, and loops in Python nowhere."""
import ast
import inspect
import warnings

import numpy as np
import pytest

from gradproof.derive.generated import glove, logistic_regression, softmax_classifier, two_layer_net
from gradproof.derive.model import load
from gradproof.verify import handwritten as hand
from gradproof.verify.model_check import check_function

RTOL = 1e-10


def close(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape
    return float(np.max(np.abs(got - want))) <= RTOL * max(1e-300, float(np.max(np.abs(want))))


def flat(out):
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
        return (out[0], *[out[1][k] for k in sorted(out[1])])
    return out


def inputs(name, rng, scale=1.0, sizes=None):
    if name == "softmax-classifier":
        N, D, C = sizes or (20, 15, 7)
        return (rng.normal(size=(D, C)) * 0.1 * scale, rng.normal(size=(N, D)), rng.integers(0, C, N), 0.3)
    if name == "two-layer-net":
        N, D, H, C = sizes or (12, 6, 9, 5)
        return (rng.normal(size=(N, D)), rng.integers(0, C, N), rng.normal(size=(D, H)) * scale,
                rng.normal(size=H) * scale, rng.normal(size=(H, C)) * scale, rng.normal(size=C) * scale, 0.2)
    if name == "logistic-regression":
        N, D = sizes or (30, 8)
        return (rng.normal(size=D) * scale, 0.4 * scale, rng.normal(size=(N, D)), rng.integers(0, 2, N), 0.1)
    V, d = sizes or (11, 4)
    X = rng.integers(0, 300, (V, V)) * (rng.random((V, V)) < 0.5)
    return (rng.normal(size=(V, d)) * scale, rng.normal(size=(V, d)) * scale, rng.normal(size=V), rng.normal(size=V),
            X.astype(float))


GENERATED = {
    "softmax-classifier": (softmax_classifier.softmax_loss_vectorized, hand.softmax_loss_vectorized),
    "two-layer-net": (two_layer_net.two_layer_net, hand.two_layer_net),
    "logistic-regression": (logistic_regression.logistic_regression, hand.logistic_regression),
    "glove": (glove.glove, hand.glove),
}


@pytest.mark.parametrize("name", sorted(GENERATED))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_agrees_with_hand_written(name, seed):
    ours, theirs = GENERATED[name]
    args = inputs(name, np.random.default_rng(seed))
    for got, want in zip(flat(ours(*args)), flat(theirs(*args)), strict=True):
        assert close(got, want), name


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_passes_the_gradient_check(name):
    model = load(name)
    f = GENERATED[name][0]
    sizes = {k: 3 * v for k, v in model.spec.sizes.items()}
    result = check_function(f, model.spec, seed=4, sizes=sizes)
    assert result.passed, [(c.input, c.max_rel_error) for c in result.checks]


@pytest.mark.parametrize("name", ["softmax-classifier", "two-layer-net", "logistic-regression"])
def test_generated_is_right_at_scores_of_1000(name):
    ours, theirs = GENERATED[name]
    rng = np.random.default_rng(7)
    args = list(inputs(name, rng, scale=1.0))
    # scale the parameters so that scores reach +-1000
    if name == "softmax-classifier":
        args[0] = args[0] / np.max(np.abs(args[1] @ args[0])) * 1000
    elif name == "two-layer-net":
        args[4] = args[4] * 1000 / np.max(np.abs(np.maximum(args[0] @ args[2] + args[3], 0) @ args[4]))
    else:
        args[0] = args[0] * 1000 / np.max(np.abs(args[2] @ args[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            got = flat(ours(*args))
    want = flat(theirs(*args))
    for g, w in zip(got, want):
        assert np.all(np.isfinite(g))
        assert np.allclose(g, w, rtol=1e-9, atol=1e-12)


def test_glove_ignores_the_pairs_never_seen():
    rng = np.random.default_rng(3)
    W, Wt, b, bt, X = inputs("glove", rng)
    X[0, :] = 0.0  # no log of 0, no warning, and row 0 gets no gradient from its own pairs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            loss, dW, dWt, db, dbt = glove.glove(W, Wt, b, bt, X)
    assert np.all(dW[0] == 0) and db[0] == 0 and np.isfinite(loss)


@pytest.mark.parametrize("f", [GENERATED[n][0] for n in sorted(GENERATED)], ids=sorted(GENERATED))
def test_generated_functions_do_not_loop(f):
    tree = ast.parse(inspect.getsource(f))
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While, ast.ListComp))]


SCORES_MODEL = r"""
[model]
name = "scores-softmax"
title = "softmax cross-entropy of raw scores"
objective = "L"

[sizes]
N = 3
C = 4

[inputs.x]
role = "parameter"
shape = ["N", "C"]

[inputs.y]
role = "index"
shape = ["N"]
range = "C"
example = [0, 3, 1]

[definitions]
L = '\mathrm{mean}(\mathrm{logsumexp}(x) - x_y)'

[function]
name = "scores_loss"
arguments = ["x", "y"]
returns = ["loss", "dx"]

[function.gradients]
x = "dx"
"""


def test_a_loss_fused_with_the_softmax_of_an_input_computes_after_it(tmp_path):
    """The softmax of the gradient and the log-sum-exp of the loss share one exp; the loss line
    used to come before the line that fuses them (NameError on lse)."""
    import importlib.util
    import subprocess
    import sys

    from scipy.special import log_softmax, softmax

    (tmp_path / "scores.toml").write_text(SCORES_MODEL)
    done = subprocess.run([sys.executable, "-m", "gradproof.verify.cli", "generate", "--model", "scores.toml",
                           "--output", "scores.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    spec = importlib.util.spec_from_file_location("scores", tmp_path / "scores.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x, y = np.random.default_rng(0).normal(size=(5, 4)), np.array([0, 3, 1, 2, 0])
    loss, dx = module.scores_loss(x, y)
    assert np.isclose(loss, -log_softmax(x, axis=1)[np.arange(5), y].mean())
    expected = softmax(x, axis=1)
    expected[np.arange(5), y] -= 1
    assert np.allclose(dx, expected / 5)
