"""The softmax-classifier assignment (CS231n's softmax_loss_naive and softmax_loss_vectorized), graded
from its model file alone: correct solutions, however written, score full marks on any seed; each
planted mistake loses exactly the tests it concerns and is named in the derivation's terms (a
mutant of the derived gradient or loss, or the model's overflow)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gradproof.verify.grade import rubric as rubrics
from gradproof.verify.grade.grader import grade
from gradproof.verify.grade.sandbox import Sandbox

HERE = Path(__file__).parent / "submissions" / "softmax"
RUBRIC = rubrics.load(assignment="softmax-classifier")
SEED = 20240611
NAIVE, VEC = "softmax_loss_naive", "softmax_loss_vectorized"
GRADIENT = "gradient inconsistent with the loss"
SHAPES = "wrong output types or shapes"
OVERFLOW = ("overflow: at scores near +-1000, exp overflows to inf (or a row's exps all underflow to 0); subtract each "
            "row's own maximum before exp (axis=1, keepdims=True; not the maximum of the whole matrix): softmax and the "
            "loss are unchanged by the shift")
DATA_TERM = "X^T (1/N (- onehot(y) + softmax(S)))"


def T(function: str, what: str) -> str:
    names = [t.name for t in RUBRIC.tests if t.function == function
             and (what in t.outputs and t.check == "values" and len(t.outputs) == 1 or what == t.check)]
    assert len(names) == 1, (function, what, names)
    return names[0]


MISTAKES: dict[str, dict[str, tuple[str, ...]]] = {
    "vec_dW_no_mean.py": {T(VEC, "dW"): (f"dW lacks the factor 1/N of its term {DATA_TERM}",), T(VEC, "gradient"): (GRADIENT,)},
    "vec_reg_no_2.py": {T(VEC, "dW"): ("dW lacks the factor 2 of its term 2 reg W",), T(VEC, "gradient"): (GRADIENT,)},
    "vec_sign.py": {T(VEC, "dW"): ("dW has the opposite sign",), T(VEC, "gradient"): (GRADIENT,)},
    "vec_transposed.py": {T(VEC, "dW"): ("dW looks transposed",), T(VEC, "gradient"): (GRADIENT,),
                          T(VEC, "hygiene"): (SHAPES,)},
    "vec_loss_no_mean.py": {T(VEC, "loss"): ("loss lacks the factor 1/N of its term 1/N sum(logsumexp(S) - S_[y])",),
                            T(VEC, "gradient"): (GRADIENT,)},
    "vec_loss_reg_twice.py": {T(VEC, "loss"): ("loss has an extra factor 2 on its term reg ‖W‖_F^2",),
                              T(VEC, "gradient"): (GRADIENT,)},
    "naive_no_max.py": {T(NAIVE, "large"): (OVERFLOW,)},
    "naive_no_reg_grad.py": {T(NAIVE, "dW"): ("dW lacks the term 2 reg W",), T(NAIVE, "gradient"): (GRADIENT,)},
    "naive_reg_averaged.py": {T(NAIVE, "dW"): ("dW has an extra factor 1/N on its term 2 reg W",),
                              T(NAIVE, "gradient"): (GRADIENT,)},
    "vec_edits_X.py": {T(VEC, "hygiene"): ("inputs changed in place",)},
    # every output wrong: stability, hygiene and the gradient check are not credited (nothing to diagnose there)
    "vec_wrong_axis.py": {T(VEC, "dW"): ("dW takes softmax(S) over each column, not over each row (the wrong axis)",),
                          T(VEC, "loss"): (), T(VEC, "large"): (), T(VEC, "gradient"): (), T(VEC, "hygiene"): ()},
}


# the handout's own first lines import past.builtins (the future package): the rubric allows it
HANDOUT = RUBRIC
assert "past" in RUBRIC.packages


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=RUBRIC.limits, packages=HANDOUT.packages) as box:
        yield box


def correct_solutions() -> list[Path]:
    return [HERE / "correct.py"] + sorted((HERE / "idioms").glob("*.py"))


@pytest.mark.parametrize("path", correct_solutions(), ids=lambda p: p.stem)
def test_a_correct_solution_scores_full_marks_on_20_seeds(sandbox, path):
    for seed in range(20):
        result = grade(path, HANDOUT, sandbox, seed=seed)
        assert result.score == result.max_score == 22, (seed, [(t.name, t.output) for t in result.tests if not t.passed])


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_planted_mistake_loses_its_tests_only_and_is_named(sandbox, name):
    result = grade(HERE / "mistakes" / name, RUBRIC, sandbox, seed=SEED)
    expected = MISTAKES[name]
    for test in result.tests:
        if test.name in expected:
            assert test.score == 0, (test.name, test.output)
            assert test.diagnoses == expected[test.name], (test.name, test.diagnoses)
        else:
            assert test.score == test.max_score, (test.name, test.output)


def test_the_cli_grades_the_shipped_assignment_into_valid_gradescope_results(tmp_path):
    import json

    from gradproof.verify.cli import main
    from gradproof.verify.grade import gradescope

    results = tmp_path / "results.json"
    assert main(["grade", str(HERE / "idioms" / "past_xrange.py"), "--assignment", "softmax-classifier",
                 "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["score"] == 22 and gradescope.problems(data) == []


def test_float32_code_right_to_float32_precision_loses_only_the_dtype_points(sandbox):
    result = grade(HERE / "float32.py", RUBRIC, sandbox, seed=SEED)
    lost = {t.name: t.output for t in result.tests if t.score < t.max_score}
    assert set(lost) == {T(NAIVE, "hygiene"), T(VEC, "hygiene")}, lost
    assert all("should be a float64 array" in text for text in lost.values())


def test_without_past_allowed_the_handouts_import_is_a_clear_import_failure():
    rubric = dataclasses.replace(RUBRIC, packages=())
    with Sandbox(limits=rubric.limits, packages=rubric.packages) as plain:
        result = grade(HERE / "idioms" / "past_xrange.py", rubric, plain, seed=SEED)
    assert result.score == 0 and "No module named 'past'" in result.load_error


def test_the_large_case_puts_each_rows_scores_near_plus_or_minus_1000():
    import numpy as np

    from gradproof.verify.grade.assignment import cases

    function = RUBRIC.functions[VEC]
    signs = set()
    for seed in range(5):
        case = cases(function, "large", 1, seed)[0]
        S = case.data["X"] @ case.data["W"]
        gap = S.max(axis=1) - S[np.arange(len(S)), case.data["y"]]
        assert np.all((900 < np.abs(S)) & (np.abs(S) < 1100)) and gap.max() < 100  # exp(S - row max), log p_y: finite
        assert all(len(set(np.sign(row))) == 1 for row in S)  # each row near +1000 or near -1000
        signs.update(np.sign(S[:, 0]))
        assert all(np.all(np.isfinite(e)) for e in function.expected(case, ()))
    assert signs == {-1.0, 1.0}  # a global maximum shift leaves the rows near -1000 at exp(-2000) = 0


def test_prairielearn_results_give_a_score_from_0_to_1_and_each_tests_points(tmp_path):
    import json

    from gradproof.verify.cli import main
    from gradproof.verify.grade import prairielearn

    results = tmp_path / "results.json"
    assert main(["grade", str(HERE / "mistakes" / "vec_sign.py"), "--assignment", "softmax-classifier",
                 "--format", "prairielearn", "--results", str(results), "--seed", "3"]) == 0
    data = json.loads(results.read_text())
    assert prairielearn.problems(data) == [] and data["gradable"] is True
    assert data["score"] == pytest.approx(16 / 22)
    sign = next(t for t in data["tests"] if t["name"] == T(VEC, "dW"))
    assert sign["points"] == 0 and sign["max_points"] == 4 and "dW has the opposite sign" in sign["message"]


def test_prairielearn_marks_a_syntax_error_not_gradable(tmp_path, capsys):
    import json

    from gradproof.verify.cli import main

    broken = tmp_path / "softmax.py"
    broken.write_text("def softmax_loss_naive(W, X, y, reg:\n")
    results = tmp_path / "results.json"
    assert main(["grade", str(broken), "--assignment", "softmax-classifier", "--format", "prairielearn",
                 "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["gradable"] is False and "syntax error" in data["format_errors"][0]
    assert main(["grade", str(broken), "--assignment", "softmax-classifier", "--format", "moodle"]) == 2
    err = capsys.readouterr().err.strip()
    assert "moodle" in err and len(err.splitlines()) == 1
