"""Model files: reading them (and their errors), the README's worked example end to end, the
derived gradients as data, and code generation corner cases."""
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from gradproof.derive import spec as spec_module
from gradproof.derive.catalog import names
from gradproof.derive.codegen import Step, _share_definitions, module_text
from gradproof.derive.gradients import gradients, numpy_function
from gradproof.derive.model import ModelError, from_text, load
from gradproof.derive.notation import load as load_notation
from gradproof.verify.cli import main
from gradproof.verify.model_check import check_function

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, env=None):
    import os

    return subprocess.run([sys.executable, "-m", "gradproof.verify.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=300)


@pytest.mark.parametrize("name", names())
def test_every_shipped_model_is_a_spec_and_a_notation(name):
    path = ROOT / "derive" / "models" / f"{name}.toml"
    spec = spec_module.load(path)  # what `gradproof verify --inputs` reads
    assert spec.function is not None and spec.inputs and spec.definitions
    notation = load_notation(path)  # what `gradproof check --notation` reads
    assert set(notation.sizes) == set(spec.sizes)
    assert all(s in spec.inputs or s in {d.name for d in spec.definitions} for s in notation.symbols)


# -- bad model files: one line naming the file, the line and what is wrong ---------------------------

GOOD = (ROOT / "derive" / "models" / "softmax-classifier.toml").read_text()


@pytest.mark.parametrize("change, words", [
    (("S = 'X W'", "S = 'X Q'"), "unknown symbol 'Q'"),
    (("S = 'X W'", "S = 'W X'"), "cannot multiply D x C by N x D"),
    (("S = 'X W'", r"S = '\det(X) W'"), "cannot parse"),
    (("S = 'X W'", r"S = '\sum_i X W'"), "index sum in a definition"),
    (("latex = '\\frac{\\partial L}{\\partial S} = \\frac{1}{N}(P - Y)'",
      "latex = '\\frac{\\partial L}{\\partial Q} = \\frac{1}{N}(P - Y)'"), "cannot differentiate by 'Q'"),
    (("[definitions]", "[definitons]"), "unknown table [definitons]"),
    (("N = 3   # examples", "N = = 3"), "line"),
])
def test_a_bad_model_file_is_one_line_with_its_line(tmp_path, change, words):
    assert change[0] in GOOD
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(change[0], change[1], 1))
    with pytest.raises(ModelError) as e:
        load(str(path))
    message = str(e.value)
    assert message.startswith(f"{path}:") and words in message and "\n" not in message
    line = re.match(rf"{re.escape(str(path))}:(\d+):", message)
    if words != "line":  # a TOML error says "line L, column C" itself
        assert line, message
        assert change[1].split("=")[0].strip("[ ") in path.read_text().splitlines()[int(line.group(1)) - 1] \
            or "claims" in GOOD


def test_the_cli_reports_a_bad_model_file_in_one_line_exit_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace("S = 'X W'", "S = 'W X'"))
    for command in (["derive", "--model", str(path)], ["generate", "--model", str(path), "--output",
                                                         str(tmp_path / "out.py")]):
        r = run_cli(*command, env={"GRADPROOF_CACHE_DIR": str(tmp_path / "cache")})
        assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{path}:" in lines[0] and "cannot multiply" in lines[0]


def test_the_cache_key_covers_the_model_files_content(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "mine.toml"
    path.write_text(LOGISTIC)
    out = tmp_path / "r.json"
    assert main(["derive", "--model", str(path), "--json", str(out), "--jobs", "1"]) == 0
    assert main(["derive", "--model", str(path), "--json", str(out)]) == 0  # served from the cache
    # the same file, a claim made wrong: proved again, and refuted
    path.write_text(LOGISTIC.replace(r"\frac{1}{N} X^\top (p - y)", r"X^\top (p - y)"))
    assert main(["derive", "--model", str(path), "--json", str(out), "--jobs", "1"]) == 1
    claims = json.loads(out.read_text())["claims"]
    assert [c["status"] for c in claims if c["name"] == "dL/dw"] == ["refuted"]


LOGISTIC = (ROOT / "derive" / "models" / "logistic-regression.toml").read_text()


# -- the README's worked example, written from the README alone ------------------------------------


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("<!-- worked example -->")
    block = re.search(r"```toml\n(.*?)```", text[start:], re.S)
    return block.group(1)


def hand_mlp(W1, b1, W2, X, T):
    """A one-hidden-layer tanh network with mean squared error, by hand."""
    N = X.shape[0]
    H = np.tanh(X @ W1 + b1)
    E = H @ W2 - T
    loss = np.sum(E * E) / N
    dE = 2 * E / N
    dW2 = H.T @ dE
    dZ = (dE @ W2.T) * (1 - H * H)
    return loss, {"W1": X.T @ dZ, "b1": dZ.sum(axis=0), "W2": dW2}


def test_the_readme_worked_example_derives_proves_generates_and_verifies(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "mlp.toml"
    path.write_text(readme_example())
    out = tmp_path / "claims.json"
    assert main(["derive", "--model", str(path), "--json", str(out)]) == 0
    claims = json.loads(out.read_text())["claims"]
    assert claims and all(c["status"] == "proved" for c in claims)
    assert {c["kind"] for c in claims} == {"derived", "claim"}
    module = tmp_path / "mlp.py"
    assert main(["generate", "--model", str(path), "--output", str(module)]) == 0
    text = module.read_text()
    assert text.startswith(f"# Generated by `gradproof generate --model {path} --output {module}`")
    spec_ = importlib.util.spec_from_file_location("mlp", module)
    generated = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(generated)
    model = load(str(path))
    f = getattr(generated, model.spec.function.name)
    rng = np.random.default_rng(3)
    X, T = rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    W1, b1, W2 = rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=(5, 3))
    loss, grads = f(W1, b1, W2, X, T)
    want_loss, want = hand_mlp(W1, b1, W2, X, T)
    assert abs(loss - want_loss) <= 1e-10 * abs(want_loss)
    for key in want:
        assert np.max(np.abs(grads[key] - want[key])) <= 1e-10 * np.max(np.abs(want[key]))
    assert check_function(f, model.spec, seed=1).passed
    assert main(["generate", "--model", str(path), "--output", str(module), "--check"]) == 0


# -- the derived gradients as data -----------------------------------------------------------------


def test_derived_gradients_are_expressions_to_mutate_and_print():
    g = gradients("softmax-classifier")
    dW = g.gradients["W"].expression
    assert isinstance(dW, sp.MatrixExpr) and dW.shape == g.model.inputs["W"].shape
    rng = np.random.default_rng(0)
    W, X, y = rng.normal(size=(4, 3)), rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    from gradproof.derive.generated.softmax_classifier import softmax_loss_vectorized

    right = softmax_loss_vectorized(W, X, y, 0.1)[1]
    value = numpy_function(g.model, dW)(W=W, X=X, y=y, reg=0.1)
    assert np.allclose(value, right, rtol=1e-12, atol=0)
    # mutants: sign flipped, a term dropped (the regularisation), the data term doubled
    flipped = numpy_function(g.model, -dW)(W=W, X=X, y=y, reg=0.1)
    assert np.allclose(flipped, -right)
    terms = dW.args
    no_reg = sp.MatAdd(*[t for t in terms if g.model.inputs["W"] not in t.atoms(sp.MatrixSymbol)
                         or t.has(g.model.inputs["X"])])
    assert np.allclose(numpy_function(g.model, no_reg)(W=W, X=X, y=y, reg=0.1), right - 2 * 0.1 * W)
    assert "reg" in g.gradients["W"].latex


def test_a_named_intermediate_with_a_scalar_factor_is_printed_once_scaled():
    # the old codegen's _shorten dropped such a factor: E = A/2, then X E printed as (1/2) X @ E
    X, W = sp.MatrixSymbol("X", 3, 3), sp.MatrixSymbol("W", 3, 3)
    A = X * W
    E = sp.Rational(1, 2) * A
    steps = _share_definitions([("E", E, ""), ("G", sp.Rational(1, 2) * X * A, ""), ("H", X * E, "")])
    values = {X: sp.ImmutableMatrix(3, 3, lambda i, j: i + 2 * j + 1), W: sp.ImmutableMatrix(3, 3, lambda i, j: i - j)}
    named = {}
    for step in steps:
        value = step.expr.xreplace(named).xreplace(values).doit()
        named[sp.MatrixSymbol(step.names[0], 3, 3)] = value
    assert named[sp.MatrixSymbol("G", 3, 3)] == (sp.Rational(1, 2) * X * X * W).xreplace(values).doit()
    assert named[sp.MatrixSymbol("H", 3, 3)] == (sp.Rational(1, 2) * X * X * W).xreplace(values).doit()


HALVED = """
[sizes]
N = 3
D = 2

[inputs.W]
role = "parameter"
shape = ["D", "D"]

[inputs.X]
role = "data"
shape = ["N", "D"]

[definitions]
A = 'X W'
E = '\\frac{1}{2} A'
G = 'X^\\top E'
L = '\\mathrm{sum}(G \\odot G)'

[function]
name = "halved"
arguments = ["W", "X"]
returns = ["loss", "dW"]
[function.gradients]
W = "dW"
"""


def test_generated_code_with_a_halved_intermediate_is_right():
    model = from_text(HALVED, "halved.toml")
    scope: dict = {}
    exec(module_text([model], "test"), scope)
    rng = np.random.default_rng(0)
    W, X = rng.normal(size=(2, 2)), rng.normal(size=(3, 2))
    loss, dW = scope["halved"](W, X)
    G = X.T @ (X @ W / 2)
    assert np.isclose(loss, np.sum(G * G))
    assert np.allclose(dW, X.T @ X @ G, rtol=1e-12)  # d/dW |X^T X W / 2|^2 = (X^T X) G
    assert check_function(scope["halved"], model.spec, seed=2).passed


ZOO = r"""
[model]
name = "zoo"

[sizes]
N = 3
D = 2
K = 2
V = 4

[inputs.E]
role = "parameter"
shape = ["V", "D"]
row = "e"                  # e_i is row i of E: an embedding table
scale = 0.5

[inputs.x]
role = "index"
shape = ["N"]
range = "V"
example = [1, 1, 3]        # a repeated row: its gradient adds up

[inputs.A]
role = "parameter"
shape = ["D", "K"]
scale = 0.5

[inputs.T]
role = "data"
shape = ["N", "K"]

[inputs.c]
role = "scalar"
value = 0.5

[definitions]
H = 'e_{x}'
Z = 'H A'
P = '\log\mathrm{softmax}(Z)'
Q = '\mathrm{softplus}(Z) \odot \tanh(Z)'
R = '\min(1, \exp(Z)) + Z^{3}'
L = '-\mathrm{mean}(T \odot P) + c\, \mathrm{sum}(Q) + \frac{1}{N} \mathbf{1}^\top R \mathbf{1} + \mathrm{sum}(\sigma(Z) \odot \log(1 + \exp(Z)))'

[function]
name = "zoo"
arguments = ["E", "x", "A", "T", "c"]
returns = ["loss", "dE", "dA"]
[function.gradients]
E = "dE"
A = "dA"
"""


def test_every_primitive_derives_proves_and_generates_right_code():
    """Gathered rows (repeated), log-softmax over rows, softplus, tanh, min, exp, powers,
    sigmoid, log and sums: each primitive's rule, proved and printed, in one model."""
    from gradproof.derive.proofs import Prover

    model = from_text(ZOO, "zoo.toml")
    prover = Prover(model)
    results = [prover.prove(item) for item in prover.items()]
    assert [r.status for r in results] == ["proved", "proved"], [(r.name, r.detail) for r in results]
    scope: dict = {}
    exec(module_text([model], "test"), scope)
    assert check_function(scope["zoo"], model.spec, seed=5, sizes={"N": 6, "D": 3, "K": 4, "V": 5}).passed
