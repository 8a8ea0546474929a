"""What makes `gradproof check` fast changes no result: the numbers of a value in double
precision (numeric.Point) against SymPy's exact substitution, the evaluator's memo of subtrees on
and off, derivatives computed once, the correct forms read from the model files' statements, and
the benchmark that times a check document by document (speed itself is measured by
`gradproof bench --check`, never asserted here)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from gradproof.verify.derivation import steps
from gradproof.verify.derivation.evaluate import Evaluator
from gradproof.verify.derivation.numeric import NoValue, Point
from gradproof.verify.derivation.run import check_document

DERIVATIONS = Path(__file__).parent / "derivations"


def _exact(expr, numbers) -> complex:
    return complex(sp.sympify(expr).xreplace(numbers).evalf())


def test_a_point_gives_the_value_sympy_gives():
    x, y, z = sp.symbols("x y z")
    numbers = {x: 0.37, y: -1.25, z: 2.5}
    expressions = [x * y + sp.exp(z) / (1 + sp.exp(-x)), sp.log(1 + sp.exp(y)) - sp.tanh(x) * z ** 2,
                   sp.Max(x, y) + sp.Abs(y) * sp.sqrt(z), sp.Rational(1, 3) * x ** -2 + sp.cos(y) * sp.sin(z),
                   sp.Piecewise((x, y < 0), (z, True)) * sp.E + sp.pi, sp.Heaviside(y) + sp.sign(y) * x,
                   (x - y) ** sp.Rational(3, 2), sp.log(y)]  # the last two: principal complex values
    point = Point(numbers)
    for expr in expressions:
        assert point.value(expr) == pytest.approx(_exact(expr, numbers), rel=1e-12, abs=1e-14)


def test_a_point_computes_a_shared_subexpression_once():
    x, y = sp.symbols("x y")
    shared = sp.exp(x) + sp.exp(y)
    point = Point({x: 0.5, y: 0.25})
    point.value(sp.exp(x) / shared)
    known = len(point.memo)
    point.value(sp.exp(y) / shared)
    assert shared in point.memo and len(point.memo) == known + 1  # only the new quotient: its factors are known


def test_where_double_precision_has_no_value_the_exact_substitution_decides():
    x, y = sp.symbols("x y")
    point = Point({x: 0.0, y: 800.0})
    for expr in (1 / x, sp.log(x), sp.exp(y) ** 2):
        with pytest.raises(NoValue):
            point.value(expr)
    numbers = steps._Numbers({x: 0.0, y: 800.0}, 0, False)
    assert steps._numbers_of(1 / x, numbers) is None  # zoo: no value either way
    ratio = sp.exp(2 * y) / (sp.exp(2 * y) + 1)  # exp(1600) overflows in double precision, not exactly
    assert float(steps._numbers_of(ratio, numbers)) == pytest.approx(1.0)


def test_the_numbers_of_every_value_checked_are_those_of_the_exact_substitution():
    """Every value the checker computed for a document (both sides of each step, each reading and
    instantiation), in double precision and by SymPy's xreplace and evalf."""
    from gradproof.verify.derivation.run import notation_context
    from gradproof.verify.derivation.source import read
    from gradproof.verify.derivation.document import displays
    from gradproof.verify.derivation.infer import infer

    source = read(str(DERIVATIONS / "softmax_planted.md"))
    found = displays(source)
    ctx, authoritative, _ = notation_context(source, None)
    ctx, roles, _ = infer(ctx, source, found, authoritative)
    checker = steps.Checker(ctx)
    for d in found:
        steps.check_display(d, ctx, 3, roles, checker)
    compared = 0
    for (tree, t, *_), (value, problem, _) in checker._values.items():
        if problem is not None or not hasattr(value, "free_symbols"):
            continue
        numbers = checker.model(t)[2]
        fast, exact = steps._numbers_of(value, numbers), steps._exact_numbers_of(value, numbers)
        assert (fast is None) == (exact is None)
        if fast is not None:
            np.testing.assert_allclose(fast, exact, rtol=1e-10, atol=1e-12)
            compared += 1
    assert compared >= 40  # both sides of every step, in each instantiation and reading


@pytest.mark.parametrize("name", ["softmax_planted.md", "wild_einstein.md", "negsampling.md", "wild_total.md"])
def test_the_evaluators_memo_changes_no_result(monkeypatch, name):
    document = str(DERIVATIONS / name)
    kept = check_document(document)
    monkeypatch.setattr(Evaluator, "MEMO", False)
    fresh = check_document(document)
    assert [e.steps for e in kept.equations] == [e.steps for e in fresh.equations]


def test_a_derivative_is_computed_once_per_checker():
    from gradproof.verify.derivation.context import Context
    from gradproof.verify.derivation.evaluate import Model

    table: dict = {}
    evaluator = Evaluator(Model(Context(source="test"), {}, derivatives=table))
    x, y = sp.symbols("x y")
    expr = sp.log(1 + sp.exp(x * y)) * x
    first = evaluator.diff(expr, x)
    assert first == sp.diff(expr, x) and evaluator.diff(expr, x) is first and len(table) == 1
    other = Evaluator(Model(Context(source="test"), {}, derivatives=table))  # another instantiation, one checker
    assert other.diff(expr, x) is first


def test_the_differentiator_gives_the_expression_sympys_diff_gives():
    """differentiate.derivative applies SymPy's rules with a memo: the same expression as sp.diff,
    for the rules it takes (sums, products, powers, functions of one argument) and for the nodes
    it leaves to SymPy (Max, Abs, Piecewise, a deferred or unevaluated derivative)."""
    from gradproof.verify.derivation.differentiate import derivative
    from gradproof.verify.derivation.numeric import Deferred

    xs, us = sp.symbols("x0:4"), sp.symbols("u0:4")
    scores = [sum(u * x for u, x in zip(us[i:] + us[:i], xs)) for i in range(4)]
    total = sum(sp.exp(s) for s in scores)
    f = sp.Function("f")
    expressions = [sp.exp(s) / total for s in scores] + [
        -sp.log(sp.exp(scores[1]) / total), sp.tanh(xs[0]) ** 2 * us[1], 1 / (1 + sp.exp(-xs[0] * us[0])),
        sp.Max(xs[1], 0) * xs[2], sp.Abs(xs[3] - us[3]), sp.sqrt(xs[0] ** 2 + 1), xs[0] ** xs[1],
        sp.Piecewise((xs[0], xs[1] > 0), (xs[1], True)), Deferred(xs[0] * us[1] ** 2, us[1]) * xs[2],
        sp.Derivative(f(xs[0]) * us[0], xs[0]), f(xs[0], xs[1] * us[2]), sp.log(total) * sp.cosh(xs[2])]
    memo: dict = {}
    for expr in expressions:
        for x in xs + us:
            assert derivative(expr, x, memo) == sp.diff(expr, x), (expr, x)
    assert (total, xs[0]) in memo  # the shared denominator's, differentiated once for every entry


@pytest.mark.parametrize("name", ["softmax_planted.md", "negsampling.md", "wild_layers.md", "wild_logistic.md",
                                  "wild_by_expression.md", "wild_total.md"])
def test_the_differentiator_changes_no_result(monkeypatch, name):
    from gradproof.verify.derivation import evaluate

    document = str(DERIVATIONS / name)
    ours = check_document(document)
    monkeypatch.setattr(evaluate, "derivative", lambda expr, x, *memos: sp.diff(expr, x))
    sympys = check_document(document)
    assert [e.steps for e in ours.equations] == [e.steps for e in sympys.equations]


def test_the_operations_of_an_expression_are_sympys_count_ops(grown):
    """operations.operations counts each distinct subexpression once: the count count_ops gives,
    over every rule of it (negations, quotients, differences, exponentials, functions, sums,
    derivatives) and random combinations of them, memo shared."""
    from gradproof.verify.derivation.operations import operations

    x, y, z, k = sp.symbols("x y z k")
    f = sp.Function("f")
    atoms = [x, -x, x - y, -x - y, -x + y, x / y, -x / y, 1 / x, 2 / x, -2 / x, x ** 2, sp.exp(x), sp.E,
             sp.exp(-x) / (1 + sp.exp(-x)), sp.Rational(-1, 3), sp.Integer(1), sp.Integer(0), 2.5 * x, -sp.I * x,
             sp.log(x * y) - sp.log(x), sp.Max(x, y) * z, sp.Piecewise((x, y > 0), (z, True)), sp.tanh(x) ** -1,
             f(x) + sp.Derivative(f(x), x), sp.Sum(x * k, (k, 1, 3)), sp.Abs(x - y) ** 2 / (x + y) ** 3,
             sp.sqrt(x) * -3 * y / z, x * y * z - 2 * x * y / (z - 1)]
    combine = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: a / b,
               lambda a, b: sp.exp(a) * b, lambda a, b: sp.log(a) - b]
    expressions = grown(atoms, combine, 200, 1)
    memo: dict = {}
    assert [operations(e, memo) for e in expressions] == [sp.count_ops(e) for e in expressions]


def test_the_correct_forms_are_the_built_models_claims():
    from gradproof.derive.models import MODELS
    from gradproof.verify.derivation import suggest

    built = []
    for make in MODELS.values():
        for claim in make().claims:
            pieces = [p.strip() for _, p, _ in suggest._split_top(claim.statement)]
            if "\\quad" not in claim.statement and len(pieces) >= 2:
                eq = f", seed eq. {claim.equation}" if claim.equation else ""
                built.append((pieces[0], pieces[-1], f"{claim.model}: {claim.name}{eq}"))
    assert suggest._claims() == tuple(built) and built


def test_bench_lists_the_test_derivations_and_the_seed(tmp_path):
    from gradproof.verify import bench

    documents = bench.check_documents()
    assert DERIVATIONS / "softmax_correct.md" in documents and DERIVATIONS / "wild_notebook.ipynb" in documents
    assert not any(p.suffix == ".toml" for p in documents)
    assert (bench.SEED in documents) == bench.SEED.is_file()
    (tmp_path / "a.md").write_text("$$x = x$$\n")
    (tmp_path / "notes.toml").write_text("")
    assert bench.check_documents([tmp_path]) == [tmp_path / "a.md"]


def test_bench_times_a_check_side_by_side_with_another_command(monkeypatch):
    from gradproof.verify import bench

    monkeypatch.chdir(DERIVATIONS)  # documents named as a user names them, relative to where they are
    same = [sys.executable, "-m", "gradproof.verify.cli"]
    (row, missing) = bench.check_document_rows([Path("wild_einstein.md"), Path("absent.md")], against=same, repeats=1)
    assert row.name == "check wild_einstein.md" and row.seconds > 0 and row.baseline_seconds > 0
    assert row.ratio == pytest.approx(row.seconds / row.baseline_seconds)
    assert "the same verdict on every step" in row.what and row.goal == "< 5 s"
    assert missing.ours_text == "not run"


def test_arbitrary_functions_get_the_same_numbers_in_every_process(tmp_path):
    """f, g, h never defined are random smooth functions; their coefficients' numbers must not
    depend on the process (str hashes do): the same counterexample in every run."""
    import os
    import subprocess

    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"{hash_seed}.json"
        subprocess.run([sys.executable, "-m", "gradproof.verify.cli", "check", str(DERIVATIONS / "wild_overleaf.tex"),
                        "--json", str(out)], capture_output=True, env={**os.environ, "PYTHONHASHSEED": hash_seed})
        outputs.append(out.read_text())
    assert "counterexample" in outputs[0] and outputs[0] == outputs[1]


def test_the_sizes_a_document_names_print_in_its_order_in_every_process(tmp_path):
    """Sizes named only by sum bounds (K, V here) were kept in a set: their order in the report,
    and in every "proved at ..." line, followed Python's per-process hash seed."""
    import os
    import subprocess

    outputs = []
    for hash_seed in ("1", "7"):
        done = subprocess.run([sys.executable, "-m", "gradproof.verify.cli", "check",
                               str(DERIVATIONS / "wild_tagged_loss.md")], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": hash_seed, "COLUMNS": "100"})
        outputs.append(done.stdout)
    assert "sizes (small" in outputs[0] and outputs[0] == outputs[1]


# -- derivatives by forward mode (numeric.Deferred) -----------------------------------------------

def _derivative_cases():
    x, y, z = sp.symbols("x y z")
    numbers = {x: 0.37, y: -1.25, z: 2.5}
    cases = [
        (x * y + sp.exp(z * x) / (1 + sp.exp(-x * y)), x),
        (sp.log(1 + sp.exp(y * x)) - sp.tanh(x) * z ** 2, x),
        (sp.sinh(x * z) * sp.cosh(y) + sp.sin(x * y) * sp.cos(x), x),
        (sp.Max(0, x * y + 1) + sp.Min(x, z) * y, x),  # relu's kink: SymPy's Heaviside
        (sp.Rational(1, 3) * x ** -2 + x ** z + z ** (x * y), x),  # constant and variable exponents
        ((x - y) ** sp.Rational(3, 2) * sp.log(y * x), x),  # principal complex values
        (1 / (1 + sp.exp(-(x * y + z))) * (x - z) ** 2, y),
        (sp.sqrt(z + x) * y / (x + z * y), x),
        (sp.Piecewise((x ** 2, y < 0), (z, True)) * x, x),  # forward mode leaves it to the exact derivative
    ]
    return numbers, cases


def test_a_deferred_derivative_has_the_number_of_the_exact_one():
    from gradproof.verify.derivation.numeric import Deferred

    numbers, cases = _derivative_cases()
    for expr, x in cases:
        fast = Point(numbers).value(Deferred(expr, x))
        assert fast == pytest.approx(_exact(sp.diff(expr, x), numbers), rel=1e-12, abs=1e-14), expr
    x, y = sp.symbols("x y")
    numbers = steps._Numbers({x: 0.37, y: -1.25}, 0, False)
    expr = sp.Abs(y * x) * x  # of complex symbols SymPy's derivative has re(x)' and no number: neither has one
    assert steps._numbers_of(Deferred(expr, x), numbers) is None and steps._numbers_of(sp.diff(expr, x), numbers) is None


def test_forward_mode_is_not_the_exact_derivative_evaluated():
    """The number comes from the slopes (a wrong rule would show above), not from SymPy's diff."""
    from gradproof.verify.derivation.numeric import Deferred

    x, y = sp.symbols("x y")
    expr = sp.log(1 + sp.exp(x * y)) * sp.tanh(x)
    point = Point({x: 0.3, y: -0.7})
    deferred = Deferred(expr, x)
    point.value(deferred)
    assert getattr(deferred, "_done", None) is None  # SymPy never differentiated it
    assert (expr, x) in point.slopes and (x * y, x) in point.slopes


def test_a_deferred_derivative_is_the_exact_one_as_an_expression():
    from gradproof.verify.derivation.numeric import Deferred, exact

    x, y, t = sp.symbols("x y t")
    expr = x ** 2 * y + sp.exp(x)
    d, want = Deferred(expr, x), sp.diff(expr, x)
    assert exact(3 * d + y) == 3 * want + y and exact(sp.Matrix([d, 1])) == sp.Matrix([want, 1])
    assert (d + 1).xreplace({x: t}) == want.xreplace({x: t}) + 1  # the variable substituted: the derivative's
    assert d.subs(y, 2) == want.subs(y, 2) and sp.diff(d * y, x) == sp.diff(want * y, x)
    assert str(d) == str(want) and not d.is_number
    assert Deferred(3 * x, x).is_number  # a constant derivative is a number, as SymPy's 3 (it broadcasts)


def test_an_instantiation_that_gives_only_numbers_defers_its_derivatives():
    from gradproof.verify.derivation.context import Context
    from gradproof.verify.derivation.evaluate import Model
    from gradproof.verify.derivation.numeric import Deferred

    table: dict = {}
    x, y = sp.symbols("x y")
    expr = sp.log(1 + sp.exp(x * y)) * x
    later = Evaluator(Model(Context(source="test"), {}, derivatives=table, deferred=True))
    assert isinstance(later.diff(expr, x), Deferred) and not table  # nothing differentiated symbolically
    assert later.diff(expr + 0 * x, sp.Symbol("z")) == 0  # independent of it: SymPy's structural 0
    assert later.model.free[expr] == {x, y}  # told by the instantiation's memo of free symbols
    first = Evaluator(Model(Context(source="test"), {}, derivatives=table)).diff(expr, x)
    assert later.diff(expr, x) is first  # known exactly already: the exact one


@pytest.mark.parametrize("name", ["softmax_planted.md", "negsampling.md", "wild_total.md", "wild_overleaf.tex",
                                  "wild_window.md", "wild_einstein.md", "wild_by_expression.md", "wild_layers.md",
                                  "wild_logistic.md", "wild_vector_rule.md", "wild_intermediate.md"])
def test_deferring_the_later_instantiations_derivatives_changes_no_result(monkeypatch, name):
    document = str(DERIVATIONS / name)
    deferred = check_document(document)
    monkeypatch.setattr(steps.Checker, "DEFER", False)
    exact = check_document(document)
    assert [e.steps for e in deferred.equations] == [e.steps for e in exact.equations]


def test_a_deferred_derivative_uses_the_variables_of_the_exact_one():
    """d(Wx + b)/dW = x: b is not among the variables the value uses (a side with b alone would be
    a variable on one side only), although the deferred derivative's expression has it."""
    from gradproof.verify.derivation.context import Context
    from gradproof.verify.derivation.evaluate import Env, Model
    from gradproof.verify.derivation.numeric import Deferred

    W, x, b = sp.symbols("W x b")
    model = Model(Context(source="test"), {}, deferred=True)
    model.primitives.update({"W": W, "x": x, "b": b})

    class Evaluating:  # evaluates the numerator, which touches W and x, and differentiates it
        def __init__(self):
            self.model = model

        def value(self, tree, env):
            model.touched |= {"W", "x"}
            return Deferred(W * x + b, W)

    value, problem, used = steps._evaluate(Evaluating(), None, Env({}))
    assert problem is None and isinstance(value, Deferred) and used == {"W", "x"}


def test_a_variable_the_value_changes_with_is_used_without_differentiating():
    """_uses_all: moving a variable's entries moves the value (so every expression of it has
    them: no exact derivative needed); a variable whose move changes nothing is not shown."""
    from gradproof.verify.derivation.context import Context
    from gradproof.verify.derivation.evaluate import Model
    from gradproof.verify.derivation.numeric import Deferred

    W, x, b = sp.symbols("W x b")
    model = Model(Context(source="test"), {}, deferred=True)
    model.primitives.update({"W": W, "x": x, "b": b})
    numbers = steps._Numbers({W: 0.3, x: -0.8, b: 0.5}, 0, False)
    value = Deferred(sp.exp(W * x) + b, W)  # x exp(Wx): uses x, not b
    assert steps._uses_all(model, value, {"x"}, numbers)
    assert not steps._uses_all(model, value, {"b"}, numbers) and not steps._uses_all(model, value, {"x", "b"}, numbers)
    assert not steps._uses_all(model, value, {"x"}, {W: 0.3, x: -0.8, b: 0.5})  # no point to move: not shown


def test_the_owners_of_a_value_are_those_of_its_free_symbols():
    """Model.owners keeps each subexpression's free symbols (SymPy recomputes them over the whole
    tree): the same sets SymPy gives, bound symbols (a Derivative's, a Sum's) left out as SymPy
    leaves them out, whether a subexpression was met before or not."""
    from gradproof.verify.derivation.context import Context
    from gradproof.verify.derivation.differentiate import free_symbols
    from gradproof.verify.derivation.evaluate import Model
    from gradproof.verify.derivation.numeric import Deferred

    u0, u1, v, b, k = sp.symbols("u_0_0 u_1_0 v_0_0 b k")
    f = sp.Function("f")
    shared = sp.exp(u0 * v) + sp.exp(u1 * v)
    expressions = [sp.exp(u0 * v) / shared, u1 / shared + sp.log(shared), sp.Derivative(f(u0) * b, u0),
                   sp.Sum(u0 * k, (k, 1, 3)) + v, sp.Lambda(u1, u1 * b)(v), Deferred(u0 * v + b, u0) * u1,
                   sp.Integer(3), sp.Matrix([[shared, b], [2, u1]])]
    memo: dict = {}
    for expr in expressions + expressions:  # the second time from the memo
        entries = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
        for e in entries:
            assert free_symbols(e, memo) == e.free_symbols
    model = Model(Context(source="test"), {})
    model.primitives.update({"u": sp.Matrix([[u0], [u1]]), "v": sp.Matrix([[v]]), "b": b})
    assert model.owners(expressions[0]) == {"u", "v"} and model.owners(expressions[3]) == {"u", "v"}
    assert model.owners(sp.Matrix([[shared, b]])) == {"u", "v", "b"} and model.owners(2) == set()
    assert model.owners(expressions[5]) == {"u", "v", "b"}  # a deferred derivative's: its expression's


def test_a_proof_is_tried_once_per_pair_of_values_and_gives_the_same(monkeypatch):
    from gradproof.verify.derivation.context import Context

    calls = []
    real = steps._identical
    monkeypatch.setattr(steps, "_identical", lambda a, b, *memo: calls.append((a, b)) or real(a, b))
    checker = steps.Checker(Context(source="test"))
    x, z = sp.symbols("x z")
    a, b = 1 - 1 / (1 + sp.exp(x)), sp.exp(x) / (1 + sp.exp(x))
    assert checker._identical(a, b) == real(a, b) and checker._identical(a, b) == real(a, b)
    assert len(calls) == 1  # the second time from the memo, with the same work
    assert checker._identical(a, b + z) == real(a, b + z) == (False, real(a, b + z)[1]) and len(calls) == 2
    m, n = sp.Matrix([a, x]), sp.ImmutableMatrix([b, x])  # an array is its shape and entries
    assert checker._identical(m, n) == real(m, n) and checker._identical(sp.ImmutableMatrix(m), sp.Matrix(n))[0]
    assert len(calls) == 3
    with pytest.raises(sp.ShapeError):  # a row beside a column: raised as before, nothing kept
        checker._identical(sp.Matrix([[a, x]]), n)
    assert checker._identical(sp.Integer(2), sp.Integer(2)) == real(sp.Integer(2), sp.Integer(2))
    assert checker._identical(sp.Float(2.0), sp.Integer(2)) == real(sp.Float(2.0), sp.Integer(2))
    assert len(calls) == 6  # 2.0 is not the integer 2 to the memo


def test_the_size_of_a_value_is_counted_once_and_is_the_same():
    from gradproof.verify.derivation.context import Context

    checker = steps.Checker(Context(source="test"))
    x, y = sp.symbols("x y")
    value = sp.Matrix([sp.exp(x) * y, x + 1])
    assert checker._weight(value) == steps._weight(value) == 7
    assert checker._weight(sp.ImmutableMatrix(value)) == 7 and len(checker._weights) == 1
    assert checker._weight(sp.log(x)) == steps._weight(sp.log(x)) == 2 and checker._weight(2.0) == 0
    assert len(checker._weights) == 3


def _contexts(name: str):
    """The context a check of the document runs under, and the same with uses ahead of a definition."""
    from dataclasses import replace

    from gradproof.verify.derivation.document import displays
    from gradproof.verify.derivation.infer import infer
    from gradproof.verify.derivation.run import notation_context
    from gradproof.verify.derivation.source import read

    source = read(str(DERIVATIONS / name))
    ctx = infer(notation_context(source, None)[0], source, displays(source), False)[0]
    return ctx, replace(ctx, ahead=True)


@pytest.mark.parametrize("name", ["wild_redefined.md", "wild_defined_later.md", "wild_tagged_loss.md",
                                  "softmax_planted.md", "negsampling.md", "wild_window_named.md"])
def test_every_name_means_at_a_positions_epoch_what_it_means_there(name):
    for ctx in _contexts(name):
        positions = sorted({d.position for defs in ctx.definitions.values() for d in defs})
        assert positions, "a document with definitions"
        names = set(ctx.definitions) | {n[:1] for n in ctx.definitions} | {"J", "x"}
        tried = range(min(positions) - 3, max(positions) + 40)
        for position in tried:
            epoch = ctx.epoch(position)
            assert epoch <= position
            for n in names:
                assert ctx.definition(n, epoch) is ctx.definition(n, position), (n, position, epoch)
                assert ctx.pieces(n, epoch) == ctx.pieces(n, position), (n, position, epoch)
                for d in ctx.definitions.get(n, ()):  # a definition's body is read at the later of the two
                    assert ctx.epoch(max(epoch, d.position)) == ctx.epoch(max(position, d.position))
        assert len({ctx.epoch(p) for p in tried}) <= len(positions) + 1  # positions share epochs


@pytest.mark.parametrize("name", ["wild_redefined.md", "wild_defined_later.md", "wild_tagged_loss.md"])
def test_evaluating_at_the_epoch_changes_no_result(monkeypatch, name):
    from gradproof.verify.derivation.context import Context

    document = str(DERIVATIONS / name)
    shared = check_document(document)
    monkeypatch.setattr(Context, "epoch", lambda self, position: position)
    each = check_document(document)
    assert [e.steps for e in shared.equations] == [e.steps for e in each.equations]


def test_a_value_is_kept_for_every_layout_only_when_it_never_asks_for_the_layout():
    """A score is the same in both layouts: computed once.  A gradient by a vector is a column in the
    denominator layout and a row in the numerator one: computed in each."""
    ctx, _ = _contexts("wild_logistic.md")
    checker = steps.Checker(ctx)
    late = 10 ** 6  # after every definition
    score = checker.parse(r"MLE - t")
    gradient = checker.parse(r"\frac{\partial MLE}{\partial a}")
    evaluator = checker.model(0)[1]
    values = {}
    for layout in ("denominator", "numerator"):
        for tree in (score, gradient):
            values[layout, id(tree)], problem, _ = checker.value(tree, 0, {}, late, layout)
            assert problem is None
    assert values["denominator", id(score)] is values["numerator", id(score)]
    column, row = values["denominator", id(gradient)], values["numerator", id(gradient)]
    assert column.shape[1] == 1 and row == column.T
    kept = {k for k, hit in evaluator._memo.items() if hit[0] is score or hit[0] is gradient}
    assert sum(k[-1] in ("denominator", "numerator") for k in kept) == 2  # the gradient's, once per layout


@pytest.mark.parametrize("name", ["wild_cs224n.md", "wild_vector_rule.md", "wild_logistic.md"])
def test_sharing_values_between_layouts_changes_no_result(monkeypatch, name):
    document = str(DERIVATIONS / name)
    shared = check_document(document)
    plain = Evaluator.value

    def asking(self, tree, env):  # every value counted as asking for the layout: kept per layout, as before
        self._layouts += 1
        return plain(self, tree, env)

    monkeypatch.setattr(Evaluator, "value", asking)
    each = check_document(document)
    assert [e.steps for e in shared.equations] == [e.steps for e in each.equations]


@pytest.mark.parametrize("name", ["wild_logistic.md", "wild_vector_rule.md"])
def test_reading_the_first_instantiations_values_for_numbers_changes_no_result(monkeypatch, name):
    """The numbers-only copy of instantiation 0 (other layouts at other index values) reads what
    instantiation 0 has computed; without that it computes everything itself, with the same result."""
    document = str(DERIVATIONS / name)
    shared = check_document(document)
    plain = Evaluator.__init__
    monkeypatch.setattr(Evaluator, "__init__", lambda self, model, shared=None: plain(self, model))
    alone = check_document(document)
    assert [e.steps for e in shared.equations] == [e.steps for e in alone.equations]


def test_a_numbers_only_instantiation_reads_but_never_writes_the_first_ones_values():
    ctx, _ = _contexts("wild_logistic.md")
    checker = steps.Checker(ctx)
    late = 10 ** 6
    score = checker.parse(r"q(a^Tz_i)")
    first = checker.value(score, 0, {"i": 1}, late)[0]
    kept = dict(checker.model(0)[1]._memo)
    again = checker.value(score, checker.NUMBERS_ONLY, {"i": 1}, late, "numerator")[0]
    assert again is first and not any(hit[0] is score for hit in checker.model(checker.NUMBERS_ONLY)[1]._memo.values())
    gradient = checker.parse(r"\frac{\partial MLE}{\partial a}")
    checker.value(gradient, checker.NUMBERS_ONLY, {}, late, "numerator")
    assert checker.model(0)[1]._memo == kept  # its own values (deferred derivatives) stay its own


def test_a_reading_of_the_document_gets_one_checker_whose_budgets_start_afresh():
    from dataclasses import replace

    ctx, ahead = _contexts("wild_defined_later.md")
    checker = steps.Checker(ctx)
    first = checker.variant(ahead)
    first.proof_work, first.proofs = 123, 4
    again = checker.variant(replace(ctx, ahead=True, tokens=ctx.tokens))
    assert again is first and (again.proof_work, again.proofs) == (0, 0)
    assert checker.variant(ahead, seed=1) is not first and checker.variant(ctx) is not first


@pytest.mark.parametrize("name", ["wild_defined_later.md", "wild_vector_rule.md", "wild_entry_by_vector.md"])
def test_keeping_the_checkers_of_other_readings_changes_no_result(monkeypatch, name):
    document = str(DERIVATIONS / name)
    kept = check_document(document)
    monkeypatch.setattr(steps.Checker, "variant", lambda self, ctx, seed=0: steps.Checker(ctx, self.trials, seed))
    fresh = check_document(document)
    assert [e.steps for e in kept.equations] == [e.steps for e in fresh.equations]
