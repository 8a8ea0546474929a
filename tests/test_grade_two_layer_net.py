"""The two-layer-net assignment (a ReLU network's loss returning (loss, grads), grads a dict), graded from
its model file: a correct solution scores full marks on 20 seeds; planted mistakes lose their tests
and are named by mutants of the derived gradients (the ReLU mask, a regularisation term, 1/N)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gradproof.verify.grade import rubric as rubrics
from gradproof.verify.grade.grader import grade
from gradproof.verify.grade.sandbox import Sandbox

HERE = Path(__file__).parent / "submissions" / "two_layer_net"
RUBRIC = rubrics.load(assignment="two-layer-net")
SEED = 20240611
GRADIENT = "gradient inconsistent with the loss"
MASK = "lacks the ReLU mask [Z > 0] (the derivative of max(0, z) is 0 where z <= 0)"


def T(what: str) -> str:
    return next(t.name for t in RUBRIC.tests if what in (t.check, *t.outputs) and (t.check != "values" or len(t.outputs) == 1))


MISTAKES = {
    "no_mask.py": {T("grads.W1"): (f"grads.W1 {MASK}",), T("grads.b1"): (f"grads.b1 {MASK}",), T("gradient"): (GRADIENT,)},
    "w2_no_reg.py": {T("grads.W2"): ("grads.W2 lacks the term reg W2",), T("gradient"): (GRADIENT,)},
    "reg_sum.py": {T("grads.W1"): ("grads.W1 adds reg sum(W1) to every entry where its term reg W1 belongs (the sum "
                                   "of W1's entries, not W1 itself)",),
                   T("grads.W2"): ("grads.W2 adds reg sum(W2) to every entry where its term reg W2 belongs (the sum "
                                   "of W2's entries, not W2 itself)",), T("gradient"): (GRADIENT,)},
    # every output wrong: the large case, the gradient check and the shapes are not credited (nothing to name)
    "no_relu.py": {**{T(out): (f"{out} is what the model gives without its ReLU (A = relu(Z) taken as A = Z)",)
                      for out in ("loss", "grads.W1", "grads.b1", "grads.W2", "grads.b2")},
                   T("large"): (), T("gradient"): (), T("hygiene"): ()},
    "biases_regularised_everywhere.py": {
        T("loss"): ("loss regularises b1, b2 too, but the model regularises only W1, W2",),
        T("grads.b1"): ("grads.b1 has a regularisation term reg b1, but the loss regularises only W1, W2",),
        T("grads.b2"): ("grads.b2 has a regularisation term reg b2, but the loss regularises only W1, W2",)},
    "biases_regularised.py": {T("grads.b1"): ("grads.b1 has a regularisation term reg b1, but the loss regularises "
                                              "only W1, W2",),
                              T("grads.b2"): ("grads.b2 has a regularisation term reg b2, but the loss regularises "
                                              "only W1, W2",), T("gradient"): (GRADIENT,)},
    "no_max_shift.py": {T("large"): ("overflow: at scores near +-1000, exp overflows to inf (or a row's exps all "
                                     "underflow to 0); subtract each row's own maximum before exp (axis=1, "
                                     "keepdims=True; not the maximum of the whole matrix): softmax and the loss are "
                                     "unchanged by the shift",)},
    "b2_not_summed_mean.py": {T("grads.b2"): ("grads.b2 has an extra factor 1/N on its term (1/N (- onehot(y) + "
                                              "softmax(S)))^T 1",), T("gradient"): (GRADIENT,)},
}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=RUBRIC.limits, packages=RUBRIC.packages) as box:
        yield box


def test_a_correct_solution_scores_full_marks_on_20_seeds(sandbox):
    for seed in range(20):
        result = grade(HERE / "correct.py", RUBRIC, sandbox, seed=seed)
        assert result.score == result.max_score == 12, (seed, [(t.name, t.output) for t in result.tests if not t.passed])


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_planted_mistake_loses_its_tests_only_and_is_named(sandbox, name):
    result = grade(HERE / "mistakes" / name, RUBRIC, sandbox, seed=SEED)
    expected = MISTAKES[name]
    for test in result.tests:
        if test.name in expected:
            assert test.score == 0 and test.diagnoses == expected[test.name], (test.name, test.diagnoses)
        else:
            assert test.score == test.max_score, (test.name, test.output)


CLASS = rubrics.load(assignment="two-layer-net-class")
PACKAGE = dataclasses.replace(CLASS, file="cs231n/classifiers/fc_net.py")


@pytest.mark.parametrize("path, rubric", [(HERE / "neural_net.py", CLASS), (HERE / "fc_net.py", CLASS),
                                          (HERE / "package", PACKAGE)], ids=["neural_net", "fc_net", "package"])
def test_cs231n_twolayernet_classes_score_full_marks_on_20_seeds(sandbox, path, rubric):
    """neural_net.py's loss(X, y, reg) and fc_net.py's loss(X, y) with self.reg, the class built without its
    __init__; fc_net.py in its package, importing the student's own layers relatively (from ..layers import *)."""
    for seed in range(20):
        result = grade(path, rubric, sandbox, seed=seed)
        assert result.score == result.max_score == 12, (seed, [(t.name, t.output) for t in result.tests if not t.passed])


def test_a_package_submission_is_found_inside_an_uploaded_folder_and_copied_whole(sandbox, tmp_path):
    import shutil

    upload = tmp_path / "upload" / "assignment1"
    shutil.copytree(HERE / "package", upload)
    assert grade(tmp_path / "upload", PACKAGE, sandbox, seed=1).score == 12
    shutil.rmtree(upload / "cs231n" / "classifiers")
    result = grade(tmp_path / "upload", PACKAGE, sandbox, seed=1)
    assert result.score == 0 and "no cs231n/classifiers/fc_net.py in the submission" in result.load_error


def test_a_method_of_a_missing_class_is_named(sandbox):
    result = grade(HERE / "correct.py", CLASS, sandbox, seed=1)
    assert result.score == 0
    assert "no class named 'TwoLayerNet' in the submission" in result.tests[0].output


def test_a_package_submission_given_by_a_relative_path_is_graded(sandbox, monkeypatch):
    """(A relative folder once raised a ValueError traceback: tree lists absolute paths.)"""
    monkeypatch.chdir(HERE)
    assert grade(Path("package"), PACKAGE, sandbox, seed=1).score == 12
