"""CS231n's layers (affine, ReLU, softmax loss), each graded from a model file beside the rubric: forward
passes return (out, cache) and only out is graded; backward passes are given the handout's cache as
a tuple; the ReLU layer is tested at inputs exactly 0, the softmax loss at scores near +-1000."""
from __future__ import annotations

from pathlib import Path

import pytest

from gradproof.verify.grade import rubric as rubrics
from gradproof.verify.grade.grader import grade
from gradproof.verify.grade.sandbox import Sandbox

HERE = Path(__file__).parent / "submissions" / "layers"
RUBRIC = rubrics.load(assignment="cs231n-layers")
SEED = 20240611
SHAPES = "wrong output types or shapes"


def T(function: str, what: str) -> str:
    names = [t.name for t in RUBRIC.tests if t.function == function
             and (what in t.outputs and t.check == "values" and len(t.outputs) == 1 or what == t.check)]
    assert len(names) == 1, (function, what, names)
    return names[0]


MISTAKES = {
    "relu_mask_ge.py": {T("relu_backward", "large"): ("dx uses the mask [x >= 0]: relu'(0) is 0, so no gradient passes "
                                                      "where the input is exactly 0 (the mask is [z > 0])",)},
    "softmax_inplace.py": {T("softmax_loss", "hygiene"): ("inputs changed in place",)},
    "softmax_no_max.py": {T("softmax_loss", "large"): (
        "overflow: at scores near +-1000, exp overflows to inf (or a row's exps all underflow to 0); subtract each "
        "row's own maximum before exp (axis=1, keepdims=True; not the maximum of the whole matrix): softmax and the "
        "loss are unchanged by the shift",)},
    "db_keepdims.py": {T("affine_backward", "hygiene"): (SHAPES,)},  # right values in a (1, M) shape: charged once
    "dw_transposed.py": {T("affine_backward", "dw"): ("dw looks transposed",), T("affine_backward", "hygiene"): (SHAPES,)},
    "db_wrong_axis.py": {T("affine_backward", "db"): ("db sums dout over axis 1 (along each row), not over axis 0 (down "
                                                      "each column) (the wrong axis)",),
                         T("affine_backward", "hygiene"): (SHAPES,)},
}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=RUBRIC.limits, packages=RUBRIC.packages) as box:
        yield box


def test_correct_layers_score_full_marks_on_20_seeds(sandbox):
    for seed in range(20):
        result = grade(HERE / "correct.py", RUBRIC, sandbox, seed=seed)
        assert result.score == result.max_score == 15, (seed, [(t.name, t.output) for t in result.tests if not t.passed])


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_planted_mistake_loses_its_tests_only_and_is_named(sandbox, name):
    result = grade(HERE / "mistakes" / name, RUBRIC, sandbox, seed=SEED)
    expected = MISTAKES[name]
    for test in result.tests:
        if test.name in expected:
            assert test.score < test.max_score and test.diagnoses == expected[test.name], (test.name, test.diagnoses)
        else:
            assert test.score == test.max_score, (test.name, test.output)


def test_a_forward_pass_returns_its_own_cache_which_is_not_graded(sandbox, tmp_path):
    odd = tmp_path / "layers.py"
    text = (HERE / "correct.py").read_text()
    assert "return out, (x, w, b)" in text
    odd.write_text(text.replace("return out, (x, w, b)", "return out, {'mine': object()}"))
    result = grade(odd, RUBRIC, sandbox, seed=SEED)
    assert next(t for t in result.tests if t.name == T("affine_forward", "out")).passed


@pytest.mark.parametrize("path", sorted((HERE / "idioms").glob("*.py")), ids=lambda p: p.stem)
def test_correct_layers_written_for_numpy_1_score_full_marks_on_20_seeds(sandbox, path):
    for seed in range(20):
        result = grade(path, RUBRIC, sandbox, seed=seed)
        assert result.score == result.max_score == 15, (seed, [(t.name, t.output) for t in result.tests if not t.passed])


def test_a_backward_pass_may_consume_dout_told_not_deducted_but_the_weights_are_kept(sandbox, tmp_path):
    """The rubric's may_change: relu_backward zeroing dout in place keeps its point with a note in the
    feedback; affine_backward writing into the cache's w (the model's weights) loses it."""
    result = grade(HERE / "idioms" / "relu_consumes_dout.py", RUBRIC, sandbox, seed=SEED)
    hygiene = next(t for t in result.tests if t.name == T("relu_backward", "hygiene"))
    assert hygiene.passed and "note (not deducted): the function changed its input dout in place" in hygiene.output
    assert hygiene.output.count("note (not deducted)") == 1  # one line, not one per case
    weights = tmp_path / "layers.py"
    text = (HERE / "correct.py").read_text()
    assert "    return dx, dw, dout.sum(axis=0)\n" in text  # the weights zeroed after the gradients are computed
    weights.write_text(text.replace("    return dx, dw, dout.sum(axis=0)\n", "    w[...] = 0.0\n    return dx, dw, dout.sum(axis=0)\n", 1))
    result = grade(weights, RUBRIC, sandbox, seed=SEED)
    hygiene = next(t for t in result.tests if t.name == T("affine_backward", "hygiene"))
    assert not hygiene.passed and hygiene.diagnoses == ("inputs changed in place",), hygiene.output


def test_a_handout_module_the_layers_import_comes_from_the_rubrics_support(sandbox):
    """The 2016 handout's layers.py imports cs231n.im2col, a file of the course: without it the import
    fails with the reason (what a submission may import); with the handout's folder as the rubric's
    support, the same file scores full marks."""
    import dataclasses

    alone = grade(HERE / "im2col_handout.py", RUBRIC, sandbox, seed=SEED)
    assert alone.score == 0 and "No module named 'cs231n'" in alone.load_error
    assert "its own files" in alone.load_error
    handout = dataclasses.replace(RUBRIC, support=(str(HERE / "handout2016" / "cs231n"),))
    for seed in range(3):
        result = grade(HERE / "im2col_handout.py", handout, sandbox, seed=seed)
        assert result.score == result.max_score == 15, [(t.name, t.output) for t in result.tests if not t.passed]
