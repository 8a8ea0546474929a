"""The prover proves what the model files claim, refutes wrong claims of every kind with a
counterexample, and says "unproved" (never "refuted") for a true claim it cannot decide."""
import pytest
import sympy as sp
from sympy import IndexedBase, KroneckerDelta, Sum, exp

from gradproof.derive.algebra import Exp, Log, FrobeniusSq, Gather, LogSigmoid, LogSoftmax, LogSumExp, Minimum, Node, \
    OneHot, Pick, Power, Relu, Scale, Scatter, ScatterTake, Sigmoid, Softmax, Softplus, Step, Take, Tanh, Total
from gradproof.derive.catalog import names
from gradproof.derive.model import claim_from, load
from gradproof.derive.printer import NumPyCode
from gradproof.derive.proofs import prove_claim
from gradproof.derive.prover import prove_equal, strip_range_guards
from gradproof.derive.rules import RULES, rule_for


def test_every_shipped_model_is_derived_and_proved_both_ways(proved_all):
    assert {r.model for r in proved_all} == set(names())
    for r in proved_all:
        assert r.status == "proved" and r.symbolic and r.explicit, (r.model, r.name, r.residual, r.detail)
        assert r.explicit_cases >= 1
    # a derived gradient for every parameter of every model
    for name in names():
        model = load(name)
        derived = {r.name for r in proved_all if r.model == name and r.kind == "derived"}
        for p in model.parameters():
            assert any(f"/d{p} (derived)" in d for d in derived), (name, p)


def test_word2vec_claims_keep_the_seed_labels():
    cited = {lab.strip() for c in load("naive-softmax").claims if c.label for lab in c.label.split(",")}
    assert {"16", "14", "15", "24", "2", "3", "4", "5", "6", "7", "F4"} <= cited


# Wrong claims, each of a kind a student makes: each is refuted (a counterexample in numbers at
# explicit sizes, or a right side of the wrong shape), never proved.
WRONG = {
    "sign flipped": ("softmax-classifier", r"\frac{\partial L}{\partial W} = -\frac{1}{N} X^\top (P - Y) - 2 reg W", {}),
    "missing 1/N": ("softmax-classifier", r"\frac{\partial L}{\partial W} = X^\top (P - Y) + 2 reg W", {}),
    "missing factor 2": ("softmax-classifier", r"\frac{\partial L}{\partial W} = \frac{1}{N} X^\top (P - Y) + reg W", {}),
    "regularisation missing": ("softmax-classifier", r"\frac{\partial L}{\partial W} = \frac{1}{N} X^\top (P - Y)", {}),
    "transposed (same shape)": ("glove", r"\frac{\partial J}{\partial W} = 2 (F \odot E)^\top \tilde{W}", {}),
    "transposed (other shape)": ("naive-softmax",
                                 r"\frac{\partial J}{\partial U} = (\hat{\mathbf{y}} - \mathbf{y}) \mathbf{v}_c^\top", {}),
    "missing mask": ("two-layer-net", r"\frac{\partial L}{\partial W_1} = \frac{1}{N} X^\top (P - Y) W_2^\top + reg\, W_1",
                     {}),
    "wrong axis": ("two-layer-net", r"\frac{\partial L}{\partial b_2} = \frac{1}{N} (P - Y) \mathbf{1}_{C}", {}),
    "Jacobian with p_i for p_j": ("naive-softmax", r"\frac{\partial p_i}{\partial s_j} = p_i(\delta_{ij} - p_i)", {}),
    "Jacobian, i != j, without its minus": ("naive-softmax", r"\frac{\partial p_i}{\partial s_j} = p_i p_j",
                                            {"where": r"i \neq j"}),
    "dJ/ds missing -y": ("naive-softmax", r"\frac{\partial J}{\partial \mathbf{s}} = \hat{\mathbf{y}}", {}),
    "neg sampling: sign error on the samples": (
        "neg-sampling", r"\frac{\partial J}{\partial \mathbf{v}_c} = (\sigma(\mathbf{u}_o^\top \mathbf{v}_c) - 1)\mathbf{u}_o"
                        r" - \sum_{k=1}^K \sigma(\mathbf{u}_{w_k}^\top \mathbf{v}_c)\,\mathbf{u}_{w_k}", {}),
    "neg sampling: repeats not summed": (
        "neg-sampling", r"\frac{\partial J}{\partial \mathbf{u}_{w_m}} = \sigma(\mathbf{u}_{w_m}^\top \mathbf{v}_c)\,\mathbf{v}_c",
        {"where": r"o \notin w"}),
    "window: missing factor T": (
        "window", r"\frac{\partial J_{naive}}{\partial \mathbf{v}_c} = U\big(\hat{\mathbf{y}} - \sum_t \mathrm{onehot}(o_t)\big)",
        {}),
    "SGD with + eta": ("naive-softmax", r"u_{ij}^{new} = u_{ij} + \eta\,(\hat{y}_j - y_j)\, V_{ic}",
                       {"variables": ["eta"], "rate": "eta"}),
}


@pytest.mark.parametrize("label", sorted(WRONG))
def test_a_wrong_claim_is_refuted_with_a_counterexample(label):
    model_name, latex, extra = WRONG[label]
    model = load(model_name)
    result = prove_claim(model, claim_from(model, latex, label, **extra))
    assert result.status == "refuted", (result.status, result.detail, result.residual)
    assert not result.symbolic
    assert "derived" in result.detail and "claimed" in result.detail or "the right side is" in result.detail


def test_a_true_claim_the_prover_cannot_decide_is_unproved_not_refuted():
    model = load("neg-sampling")
    # d tanh(z)/dz = 4 / (e^z + e^-z)^2 holds, but tanh and exp are different atoms to the prover
    claim = claim_from(model, r"\frac{\partial}{\partial z} \tanh(z) = \frac{4}{(\exp(z) + \exp(-z))^{2}}", "tanh'",
                       variables=["z"])
    result = prove_claim(model, claim)
    assert result.status == "unproved", (result.status, result.detail)
    assert not result.symbolic


def test_each_primitive_has_a_rule_and_a_print_method():
    primitives = [Exp, Log, Tanh, Sigmoid, LogSigmoid, Softplus, Relu, Step, Power, Minimum, Softmax, LogSoftmax, LogSumExp,
                  Total, FrobeniusSq, Take, Gather, Pick, Scatter, ScatterTake, Scale]
    assert {c for c in vars(__import__("gradproof.derive.algebra", fromlist=["x"])).values()
            if isinstance(c, type) and issubclass(c, Node) and c.__module__.endswith("algebra")
            and c.__name__ not in ("Node", "Elementwise", "_AxisNode", "IndexSum", "OneHot")} <= set(primitives)
    for cls in primitives:
        assert cls in RULES, cls
        assert hasattr(NumPyCode, f"_print_{cls.__name__}"), cls
    assert hasattr(NumPyCode, "_print_OneHot") and rule_for(sp.MatMul(sp.MatrixSymbol("A", 2, 2),
                                                                        sp.MatrixSymbol("B", 2, 2))) is not None


# -- the normal form's building blocks -------------------------------------------------


N, W = sp.symbols("N W", integer=True, positive=True)
i, j, k_, l_ = sp.symbols("i j k l", integer=True)
x = IndexedBase("x")
R = {i: (0, N - 1), j: (0, W - 1)}


def test_sums_over_differently_named_indices_cancel():
    a = Sum(exp(x[k_]) * x[k_], (k_, 0, W - 1))
    b = Sum(exp(x[l_]) * x[l_], (l_, 0, W - 1))
    assert prove_equal(a, b, R).proved


def test_nested_sums_commute():
    a = Sum(Sum(x[k_, l_] ** 2, (k_, 0, N - 1)), (l_, 0, W - 1))
    b = Sum(Sum(x[k_, l_] ** 2, (l_, 0, W - 1)), (k_, 0, N - 1))
    assert prove_equal(a, b, R).proved
    assert not prove_equal(a, Sum(Sum(x[l_, k_] ** 2, (l_, 0, W - 1)), (k_, 0, N - 1)), R).proved


def test_different_summands_do_not_cancel():
    assert not prove_equal(Sum(x[k_], (k_, 0, W - 1)), Sum(x[k_] ** 2, (k_, 0, W - 1)), R).proved


def test_delta_sum_needs_the_index_in_range():
    inside = Sum(KroneckerDelta(k_, j) * x[k_], (k_, 0, W - 1))
    assert prove_equal(inside, x[j], R).proved  # j is declared in [0, W-1]
    partial = Sum(KroneckerDelta(k_, j) * x[k_], (k_, 0, W - 2))
    assert not prove_equal(partial, x[j], R).proved  # j = W-1 falls outside: no proof


def test_only_implied_range_guards_are_stripped():
    guarded = sp.Piecewise((x[j], (j >= 0) & (j <= W - 1)), (0, True))
    assert strip_range_guards(guarded, R) == x[j]
    narrower = sp.Piecewise((x[j], j <= W - 2), (0, True))
    assert strip_range_guards(narrower, R) == narrower


def test_constant_sum_counts_its_terms():
    assert prove_equal(Sum(x[i], (k_, 0, W - 1)), W * x[i], R).proved


def test_logistic_identities_are_rational():
    z = sp.Symbol("z", real=True)
    sig = 1 / (1 + exp(-z))
    assert prove_equal(sp.diff(sig, z), sig * (1 - sig), {}).proved
    assert not prove_equal(sp.diff(sig, z), sig * (1 + sig), {}).proved


def test_no_capture_when_a_bound_name_is_reused():
    inner = Sum(exp(x[k_]), (k_, 0, W - 1))
    outer = Sum(x[k_] / inner, (k_, 0, W - 1))
    assert prove_equal(outer, Sum(x[l_], (l_, 0, W - 1)) / Sum(exp(x[l_]), (l_, 0, W - 1)), R).proved


def test_replace_once_is_sympys_replace(grown):
    """prover.replace_once rebuilds each distinct subexpression once: the expression Basic.replace
    gives, for the substitution rational_zero makes (each exp(a) a symbol's power, nested exps
    inside out) over random sums, products and quotients."""
    from gradproof.derive.prover import replace_once

    x, y, z = sp.symbols("x y z")
    atoms = [x, y, z, exp(x), exp(-y), exp(x + y), sp.log(1 + exp(z)), exp(exp(x)), 1 / (1 + exp(-x)), exp(2 * x)]
    combine = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a - b]
    expressions = grown(atoms, combine, 200, 3)

    def substituted(e, replace):
        symbols: dict = {}

        def as_symbol(node):
            content, arg = sp.expand(node.args[0]).primitive()
            if arg.could_extract_minus_sign():
                content, arg = -content, -arg
            return symbols.setdefault(arg, sp.Symbol(f"z{len(symbols)}", positive=True)) ** content

        return replace(e, lambda n: isinstance(n, sp.exp), as_symbol)

    assert [substituted(e, replace_once) for e in expressions] == \
        [substituted(e, lambda e, q, v: e.replace(q, v)) for e in expressions]


def test_together_once_is_sympys_together(grown):
    """prover.together_once combines each distinct subexpression once: sp.together's expression,
    over random rational functions of exponentials' symbols that repeat their denominators."""
    from gradproof.derive.prover import together_once

    z1, z2, z3, x = sp.symbols("z1 z2 z3 x", positive=True)
    total = z1 + z2 + z3
    atoms = [z1 / total, z2 / total, 1 / total, x * z3 / total ** 2, z1 ** -2, 1 / (1 + 1 / z1), sp.log(total),
             (z1 + 1 / z2) ** 3, x, sp.Rational(1, 3)]
    combine = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a - b]
    expressions = grown(atoms, combine, 150, 5)
    assert [together_once(e) for e in expressions] == [sp.together(e) for e in expressions]
